// Session benchmark: status updates in memory, and one flush against the bare floor of
// JSON.stringify plus a hand-written durable write of the same bytes.
//
//   pnpm --filter @savepoint/session... build && node packages/session/bench/session.bench.mjs [--quick]
import {
  closeSync,
  existsSync,
  constants as fsConstants,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { SessionManager } from '../dist/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SUBTASKS = 10_000;
const UPDATES = 100_000;
const STATUSES = ['Implementing', 'Complete', 'Planned', 'Failed', 'Researching', 'Retrying'];

/**
 * Runs the benchmark.
 *
 * @param {{ quick?: boolean }} [options] `quick` takes fewer samples.
 * @returns {Promise<{ name: string, subtasks: number, bytes: number, results: object[], ratios: Record<string, number>, goals: Record<string, boolean> }>}
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const generateBacklog = await loadGenerator();
  const backlog = generateBacklog(SUBTASKS, { seed: 7 });
  const root = mkdtempSync(join(tmpdir(), 'savepoint-session-bench-'));
  const manager = new SessionManager({ prdText: '# bench\n', planDir: join(root, 'plan') });
  try {
    const state = await manager.initialize({ backlog });
    const ids = manager.index.subtasks().map((subtask) => subtask.id);
    const bytes = Buffer.byteLength(JSON.stringify(state.taskRegistry, null, 2)) + 1;
    const results = [];

    // 100,000 status changes, each rolled up to its ancestors.
    const updates = new Bench({
      name: 'updates',
      iterations: quick ? 3 : 8,
      time: 0,
      warmupIterations: 1,
      warmupTime: 0,
    });
    let cursor = 0;
    updates.add(`updateItemStatus x ${UPDATES}`, () => {
      for (let k = 0; k < UPDATES; k++) {
        const at = cursor++;
        manager.updateItemStatus(ids[at % ids.length], STATUSES[at % STATUSES.length]);
      }
    });
    await updates.run();
    const updateResult = summarize(updates.tasks[0]);
    results.push(updateResult, {
      name: 'updateItemStatus (per call)',
      medianMs: updateResult.medianMs / UPDATES,
      minMs: updateResult.minMs / UPDATES,
      maxMs: updateResult.maxMs / UPDATES,
      samples: updateResult.samples,
    });
    await manager.flushUpdates();

    // One flush of a dirty session vs. the floor: stringify + temp, write, fsync, rename, dir fsync.
    // The two are sampled alternately rather than one after the other, so that load from other
    // processes on the machine (disk and CPU) falls on both alike.
    const floorDir = join(root, 'floor');
    mkdirSync(floorDir);
    const floorTarget = join(floorDir, 'tasks.json');
    let flip = 0;
    const flushOnce = async () => {
      manager.updateItemStatus(ids[flip % ids.length], flip++ % 2 === 0 ? 'Complete' : 'Planned');
      await manager.flushUpdates();
    };
    const floorOnce = () => {
      const text = `${JSON.stringify(manager.currentSession.taskRegistry, null, 2)}\n`;
      durableWrite(floorTarget, text);
    };
    const rounds = quick ? 8 : 30;
    const flushSamples = [];
    const floorSamples = [];
    for (let round = -2; round < rounds; round++) {
      const order = round % 2 === 0 ? [flushOnce, floorOnce] : [floorOnce, flushOnce];
      for (const step of order) {
        const started = performance.now();
        await step();
        const elapsed = performance.now() - started;
        // The first two rounds warm up the JIT and the page cache.
        if (round >= 0) (step === flushOnce ? flushSamples : floorSamples).push(elapsed);
      }
    }
    const flushResult = fromSamples('flushUpdates (1 pending update)', flushSamples);
    const floorResult = fromSamples('floor: JSON.stringify + durable write', floorSamples);
    results.push(flushResult, floorResult);

    const flushRatio = flushResult.medianMs / floorResult.medianMs;
    const flushRatioMin = flushResult.minMs / floorResult.minMs;
    return {
      name: 'session',
      subtasks: SUBTASKS,
      bytes,
      results,
      ratios: { flushVsFloor: flushRatio, flushVsFloorMin: flushRatioMin },
      goals: { flushWithin1_3xOfFloor: flushRatio <= 1.3 },
      stats: manager.getStats(),
    };
  } finally {
    await manager.close().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}

function summarize(task) {
  if (task.result.state !== 'completed') {
    throw new Error(`benchmark task "${task.name}" ${task.result.state}`, {
      cause: task.result.error,
    });
  }
  const latency = task.result.latency;
  return {
    name: task.name,
    medianMs: latency.p50,
    minMs: latency.min,
    maxMs: latency.max,
    samples: latency.samplesCount,
  };
}

function fromSamples(name, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const medianMs =
    sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { name, medianMs, minMs: sorted[0], maxMs: sorted.at(-1), samples: sorted.length };
}

/** The hand-written floor: what any durable replace of a file must at least do. */
function durableWrite(target, text) {
  const temp = `${target}.${process.pid}.tmp`;
  const fd = openSync(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
  try {
    const data = Buffer.from(text);
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, target);
  const dir = openSync(dirname(target), fsConstants.O_RDONLY);
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

async function loadGenerator() {
  const shared = join(HERE, '../../task-schema/bench/generate.mjs');
  if (existsSync(shared)) {
    const module = await import(pathToFileURL(shared).href);
    if (typeof module.generateBacklog === 'function') return module.generateBacklog;
  }
  return fallbackGenerator;
}

/** Used when the task-schema generator is not there: 10 subtasks a task, ~1 KB of text each. */
function fallbackGenerator(count) {
  const text = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(18);
  const backlog = [];
  let made = 0;
  for (let p = 1; made < count; p++) {
    const phase = {
      type: 'Phase',
      id: `P${p}`,
      title: `Phase ${p}`,
      status: 'Planned',
      description: text,
      milestones: [],
    };
    backlog.push(phase);
    for (let m = 1; m <= 5 && made < count; m++) {
      const milestone = {
        type: 'Milestone',
        id: `P${p}.M${m}`,
        title: `M${m}`,
        status: 'Planned',
        description: text,
        tasks: [],
      };
      phase.milestones.push(milestone);
      for (let t = 1; t <= 5 && made < count; t++) {
        const task = {
          type: 'Task',
          id: `P${p}.M${m}.T${t}`,
          title: `T${t}`,
          status: 'Planned',
          description: text,
          subtasks: [],
        };
        milestone.tasks.push(task);
        for (let s = 1; s <= 10 && made < count; s++, made++) {
          task.subtasks.push({
            type: 'Subtask',
            id: `${task.id}.S${s}`,
            title: `S${s}`,
            status: 'Planned',
            story_points: 1,
            dependencies: s > 1 ? [`${task.id}.S${s - 1}`] : [],
            context_scope: text,
          });
        }
      }
    }
  }
  return { backlog };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await run({ quick: process.argv.includes('--quick') });
  console.log(
    `session benchmark: ${report.subtasks} subtasks, ${(report.bytes / 1e6).toFixed(1)} MB tasks.json`,
  );
  console.table(
    report.results.map((result) => ({
      name: result.name,
      'median ms': Number(result.medianMs.toPrecision(4)),
      'min ms': Number(result.minMs.toPrecision(4)),
      'max ms': Number(result.maxMs.toPrecision(4)),
      samples: result.samples,
    })),
  );
  console.log(
    `flush / floor = ${report.ratios.flushVsFloor.toFixed(2)}x by median, ${report.ratios.flushVsFloorMin.toFixed(2)}x by minimum (goal <= 1.3x by median: ${report.goals.flushWithin1_3xOfFloor ? 'met' : 'missed'})`,
  );
}
