// Backlog work at growing sizes (100, 1,000, 10,000 and 100,000 subtasks by default), each
// contender side by side with its baseline in the same process:
//   - reading: parseBacklog (JSON + schema + graph check) vs JSON.parse;
//   - status updates: SessionManager.updateItemStatus vs a naive deep-copy-and-scan update;
//   - saving: flushUpdates() vs JSON.stringify + a hand-written durable write of the same bytes;
//   - memory: heap per subtask of an open session, measured in a child process with --expose-gc.
//
//   pnpm build && node bench/backlog.bench.mjs [--quick]
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  compareSideBySide,
  describeValues,
  durableWriteFloor,
  importDist,
  isMain,
  loadGenerator,
  makeLogger,
  makeTempDir,
  mulberry32,
  perOperation,
  repoPath,
  timeProcess,
} from './lib.mjs';

/** Sizes of a full run; quick runs drop the largest. */
export const FULL_SIZES = [100, 1_000, 10_000, 100_000];
export const QUICK_SIZES = [100, 1_000, 10_000];

/**
 * Runs every measurement at every size.
 *
 * @param {{ quick?: boolean, sizes?: number[], log?: (message: string) => void }} [options]
 * @returns {Promise<{ name: string, sizes: number[], rows: object[] }>} one row per size
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const sizes = options.sizes ?? (quick ? QUICK_SIZES : FULL_SIZES);
  const log = options.log ?? makeLogger('backlog');
  const schema = await importDist('packages/task-schema');
  const session = await importDist('packages/session');
  const generateBacklog = await loadGenerator();
  const root = await makeTempDir('backlog-bench');
  const rows = [];
  try {
    for (const size of sizes) {
      rows.push(await runSize({ size, quick, log, schema, session, generateBacklog, root }));
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return { name: 'backlog work by size', sizes, rows };
}

async function runSize({ size, quick, log, schema, session, generateBacklog, root }) {
  const settings = budget(size, quick);
  const backlog = generateBacklog(size, { seed: 1 });
  const text = `${JSON.stringify(backlog, null, 2)}\n`;
  const bytes = Buffer.byteLength(text);
  log(`${size} subtasks (${(bytes / 1e6).toFixed(1)} MB): parse`);

  const read = await compareSideBySide(
    [
      { name: 'JSON.parse', fn: () => JSON.parse(text) },
      { name: 'parseBacklog', fn: () => schema.parseBacklog(text) },
    ],
    settings,
  );

  const folder = join(root, String(size));
  const planDir = join(folder, 'plan');
  const prdText = `# Benchmark PRD for ${size} subtasks\n`;
  const manager = new session.SessionManager({ prdText, planDir });
  let updates;
  let flush;
  let sameBytes;
  try {
    await manager.initialize({ backlog });
    const ids = manager.index.subtasks().map((subtask) => subtask.id);
    if (ids.length !== size)
      throw new Error(`expected ${size} subtasks, the session has ${ids.length}`);

    log(`${size} subtasks: status updates`);
    const random = mulberry32(size);
    const batch = quick ? 5_000 : 20_000;
    const plan = Array.from({ length: batch }, () => ({
      id: ids[Math.floor(random() * ids.length)],
      status: schema.STATUSES[Math.floor(random() * schema.STATUSES.length)],
    }));
    const naiveBatch = Math.max(1, Math.round((quick ? 10_000 : 30_000) / size));
    const plain = JSON.parse(text);
    const updated = await compareSideBySide(
      [
        {
          name: 'updateItemStatus',
          fn: () => {
            for (const { id, status } of plan) manager.updateItemStatus(id, status);
          },
        },
        {
          name: 'naive deep-copy-and-scan',
          fn: () => {
            let current = plain;
            for (let k = 0; k < naiveBatch; k++) {
              current = naiveSetStatus(current, plan[k].id, plan[k].status);
            }
          },
        },
      ],
      settings,
    );
    updates = {
      batch,
      naiveBatch,
      index: perOperation(updated.get('updateItemStatus'), batch),
      naive: perOperation(updated.get('naive deep-copy-and-scan'), naiveBatch),
    };
    await manager.flushUpdates();

    log(`${size} subtasks: flush`);
    const floorDir = join(folder, 'floor');
    await mkdir(floorDir);
    const floorTarget = join(floorDir, 'tasks.json');
    let flip = 0;
    // One real status change before each write, made outside the timed part, so every flush has
    // something to write and the floor serializes the same, current state.
    const touch = () => {
      const id = ids[flip++ % ids.length];
      manager.updateItemStatus(
        id,
        manager.index.get(id).status === 'Complete' ? 'Planned' : 'Complete',
      );
    };
    const flushed = await compareSideBySide(
      [
        { name: 'flushUpdates', beforeEach: touch, fn: () => manager.flushUpdates() },
        {
          name: 'JSON.stringify + durable write',
          beforeEach: touch,
          fn: () => {
            const state = manager.currentSession.taskRegistry;
            return durableWriteFloor(floorTarget, `${JSON.stringify(state, null, 2)}\n`);
          },
        },
      ],
      settings,
    );
    flush = {
      session: flushed.get('flushUpdates'),
      floor: flushed.get('JSON.stringify + durable write'),
    };

    // The comparison is only fair if both wrote the same state: write it once more. A flush
    // appends to the journal, so the snapshot is compared after a compaction (saveBacklog).
    touch();
    await manager.flushUpdates();
    await manager.saveBacklog(manager.currentSession.taskRegistry);
    const state = manager.currentSession.taskRegistry;
    await durableWriteFloor(floorTarget, `${JSON.stringify(state, null, 2)}\n`);
    const sessionFile = join(manager.currentSession.metadata.path, 'tasks.json');
    sameBytes = readFileSync(sessionFile).equals(readFileSync(floorTarget));
    flush.bytes = readFileSync(sessionFile).length;
  } finally {
    await manager.close();
  }

  log(`${size} subtasks: memory`);
  const memory = await measureMemory({ planDir, prdText, size, quick });

  return {
    size,
    bytes,
    parse: { jsonParse: read.get('JSON.parse'), parseBacklog: read.get('parseBacklog') },
    updates,
    flush: { ...flush, sameBytes },
    memory,
  };
}

/**
 * Samples and rounds per size: enough samples for a stable median on small backlogs, and a bounded
 * run time on large ones (a 100,000-subtask backlog is about 140 MB of JSON).
 */
function budget(size, quick) {
  if (size >= 100_000)
    return { rounds: 2, time: 0, iterations: quick ? 1 : 2, warmupIterations: 1 };
  if (size >= 10_000) return { rounds: quick ? 2 : 4, time: 0, iterations: quick ? 2 : 3 };
  return { rounds: quick ? 2 : 4, time: quick ? 40 : 150, iterations: 5, warmupIterations: 3 };
}

/**
 * Heap per subtask, measured in a fresh `node --expose-gc --single-threaded` child (see
 * memory-child.mjs) so nothing else this process allocated is counted.
 */
async function measureMemory({ planDir, prdText, size, quick }) {
  // --single-threaded makes the figures repeatable from run to run (background compiler and GC
  // threads otherwise shift single figures by up to a whole backlog), so one child is enough.
  const repeats = quick || size >= 100_000 ? 2 : 5;
  const child = await timeProcess(process.execPath, [
    '--expose-gc',
    '--single-threaded',
    repoPath('bench', 'memory-child.mjs'),
    planDir,
    prdText,
    String(repeats),
  ]);
  if (child.code !== 0) {
    throw new Error(`memory-child.mjs exited with ${child.code}: ${child.stderr.trim()}`);
  }
  const figures = JSON.parse(child.stdout);
  const perSubtask = (key) =>
    describeValues(
      figures[key].map((bytes) => bytes / size),
      key,
    );
  return {
    plainBytesPerSubtask: perSubtask('plainHeapBytes'),
    indexedBytesPerSubtask: perSubtask('indexedHeapBytes'),
    sessionBytesPerSubtask: perSubtask('sessionHeapBytes'),
  };
}

/**
 * The baseline an application without an index would write: copy the whole backlog, walk it to the
 * item, set its status and re-derive its ancestors (with the same roll-up rule as the index).
 */
function naiveSetStatus(backlog, id, status) {
  const copy = structuredClone(backlog);
  const path = [];
  const find = (items) => {
    for (const item of items) {
      path.push(item);
      if (item.id === id) return true;
      const children = item.milestones ?? item.tasks ?? item.subtasks;
      if (children && find(children)) return true;
      path.pop();
    }
    return false;
  };
  if (!find(copy.backlog)) throw new Error(`no item ${id}`);
  path[path.length - 1].status = status;
  for (let k = path.length - 2; k >= 0; k--) {
    const item = path[k];
    item.status = rollUp(item.milestones ?? item.tasks ?? item.subtasks);
  }
  return copy;
}

function rollUp(children) {
  let complete = 0;
  let obsolete = 0;
  let failed = 0;
  let planned = 0;
  for (const child of children) {
    if (child.status === 'Complete') complete++;
    else if (child.status === 'Obsolete') obsolete++;
    else if (child.status === 'Failed') failed++;
    else if (child.status === 'Planned') planned++;
  }
  const total = children.length;
  if (obsolete === total) return 'Obsolete';
  if (complete + obsolete === total) return 'Complete';
  if (failed === total - complete - obsolete) return 'Failed';
  if (planned < total) return 'Implementing';
  return 'Planned';
}

if (isMain(import.meta.url)) {
  const report = await run({ quick: process.argv.includes('--quick') });
  const ms = (summary) => `${summary.medianMs.toPrecision(4)} ms`;
  console.table(
    report.rows.map((row) => ({
      subtasks: row.size,
      'JSON.parse': ms(row.parse.jsonParse),
      parseBacklog: ms(row.parse.parseBacklog),
      'update (index)': ms(row.updates.index),
      'update (naive)': ms(row.updates.naive),
      flushUpdates: ms(row.flush.session),
      'floor write': ms(row.flush.floor),
      'same bytes': row.flush.sameBytes,
      'session heap B/subtask': Math.round(row.memory.sessionBytesPerSubtask.median),
    })),
  );
}
