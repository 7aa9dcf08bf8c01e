// Benchmarks the built package (run `pnpm --filter @savepoint/task-schema build` first):
//   node packages/task-schema/bench/backlog.bench.mjs [--quick]
// 1. Reading a 10,000-subtask backlog: parseBacklog (JSON + zod + graph check) against JSON.parse.
// 2. 100,000 status updates through the index against a naive update that deep-copies the whole
//    backlog and scans it for the item; the naive one is timed on fewer updates and compared per
//    update.
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { createBacklogIndex, parseBacklog, STATUSES } from '../dist/index.js';
import { generateBacklog, mulberry32 } from './generate.mjs';

/**
 * Runs the benchmarks and returns their results.
 *
 * @param {{ quick?: boolean }} [options] quick: fewer samples and updates (for smoke runs).
 * @returns {Promise<{ name: string, subtasks: number, bytes: number, results: object[], ratios: object }>}
 */
export async function run(options = {}) {
  const quick = options.quick ?? false;
  const subtasks = 10_000;
  const updates = quick ? 10_000 : 100_000;
  const naiveUpdates = quick ? 3 : 20;

  const text = JSON.stringify(generateBacklog(subtasks), null, 2);
  const ids = createBacklogIndex(JSON.parse(text))
    .subtasks()
    .map((subtask) => subtask.id);
  const random = mulberry32(7);
  const plan = Array.from({ length: updates }, () => ({
    id: ids[Math.floor(random() * ids.length)],
    status: STATUSES[Math.floor(random() * STATUSES.length)],
  }));

  const read = new Bench({ time: quick ? 300 : 3000, iterations: quick ? 3 : 10 });
  read.add('JSON.parse', () => {
    JSON.parse(text);
  });
  read.add('parseBacklog (JSON + schema + graph check)', () => {
    parseBacklog(text);
  });
  await read.run();

  const write = new Bench({ time: quick ? 300 : 3000, iterations: quick ? 3 : 10 });
  let index;
  write.add(
    `index.setStatus x ${updates}`,
    () => {
      for (const { id, status } of plan) index.setStatus(id, status);
    },
    {
      beforeEach() {
        index = createBacklogIndex(JSON.parse(text));
      },
    },
  );
  let base;
  write.add(
    `naive deep-copy-and-scan x ${naiveUpdates}`,
    () => {
      let current = base;
      for (let k = 0; k < naiveUpdates; k++) {
        current = naiveSetStatus(current, plan[k].id, plan[k].status);
      }
    },
    {
      beforeEach() {
        base = JSON.parse(text);
      },
    },
  );
  await write.run();

  const results = [...read.tasks, ...write.tasks].map((task) => {
    const { latency } = task.result;
    return {
      name: task.name,
      medianMs: round(latency.p50),
      minMs: round(latency.min),
      maxMs: round(latency.max),
      samples: latency.samplesCount,
    };
  });
  const [jsonParse, parse, indexed, naive] = results;
  const indexPerUpdateMs = indexed.medianMs / updates;
  const naivePerUpdateMs = naive.medianMs / naiveUpdates;
  return {
    name: 'task-schema backlog',
    subtasks,
    bytes: Buffer.byteLength(text),
    results,
    ratios: {
      parseBacklogVsJsonParse: round(parse.medianMs / jsonParse.medianMs),
      // Fastest runs, less disturbed by other load on a shared machine.
      parseBacklogVsJsonParseBest: round(parse.minMs / jsonParse.minMs),
      indexPerUpdateUs: round(indexPerUpdateMs * 1000),
      naivePerUpdateMs: round(naivePerUpdateMs),
      naiveVsIndexPerUpdate: Math.round(naivePerUpdateMs / indexPerUpdateMs),
      naive100kUpdatesEstimatedS: round((naivePerUpdateMs * 100_000) / 1000),
    },
  };
}

/**
 * The baseline: copy the whole backlog, scan it for the item, set its status and re-derive its
 * ancestors with the same rule as the index.
 */
function naiveSetStatus(backlog, id, status) {
  const copy = structuredClone(backlog);
  const path = [];
  const find = (items, key) => {
    for (const item of items) {
      path.push(item);
      if (item.id === id) return true;
      const children = key && item[key];
      if (children && find(children, NEXT_KEY[key])) return true;
      path.pop();
    }
    return false;
  };
  if (!find(copy.backlog, 'milestones')) throw new Error(`no item ${id}`);
  path[path.length - 1].status = status;
  for (let k = path.length - 2; k >= 0; k--) {
    const item = path[k];
    path[k].status = derive(item.milestones ?? item.tasks ?? item.subtasks);
  }
  return copy;
}

const NEXT_KEY = { milestones: 'tasks', tasks: 'subtasks', subtasks: undefined };

function derive(children) {
  const count = (status) => children.filter((child) => child.status === status).length;
  const complete = count('Complete');
  const obsolete = count('Obsolete');
  if (obsolete === children.length) return 'Obsolete';
  if (complete + obsolete === children.length) return 'Complete';
  if (count('Failed') === children.length - complete - obsolete) return 'Failed';
  if (count('Planned') < children.length) return 'Implementing';
  return 'Planned';
}

function round(value) {
  return Math.round(value * 1000) / 1000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await run({ quick: process.argv.includes('--quick') });
  console.log(
    `${report.name}: ${report.subtasks} subtasks, ${(report.bytes / 1e6).toFixed(1)} MB of JSON`,
  );
  console.table(report.results);
  console.table(report.ratios);
}
