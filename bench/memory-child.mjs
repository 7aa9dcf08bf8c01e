// Heap cost of a backlog held three ways, run by backlog.bench.mjs in a fresh process:
//   node --expose-gc --single-threaded bench/memory-child.mjs <planDir> <prdText> [repeats]
// Prints {"plainHeapBytes":[...],"indexedHeapBytes":[...],"sessionHeapBytes":[...]}, one figure
// per repeat: heapUsed after global.gc() with the structure alive, minus heapUsed after
// global.gc() just before it was built. Without --single-threaded, background compiler and GC
// threads make single figures swing by up to a whole backlog. The session folder must exist (the
// PRD text names it) and not be open in another process.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importDist } from './lib.mjs';

const [planDir, prdText, repeatsText = '1'] = process.argv.slice(2);
const repeats = Number(repeatsText);
if (typeof globalThis.gc !== 'function') throw new Error('run me with node --expose-gc');
if (planDir === undefined || prdText === undefined) {
  throw new Error('usage: memory-child.mjs <planDir> <prdText>');
}

const { parseBacklog, createBacklogIndex } = await importDist('packages/task-schema');
const { SessionManager, findSessionByPRD } = await importDist('packages/session');
const found = await findSessionByPRD(planDir, prdText);
if (!found) throw new Error(`no session for the PRD in ${planDir}`);
const text = readFileSync(join(found.path, 'tasks.json'), 'utf8');

/** A module-level slot keeps each structure reachable while it is measured, used or not. */
const held = { value: undefined };

// Each structure is built once unmeasured, to warm compiled code and lazily built tables, then
// measured `repeats` times. Building happens inside functions so that no frame still running holds
// a stale reference to garbage that would be freed in the middle of a measurement.
const plainHeapBytes = await repeat(() => measure(() => JSON.parse(text)));
const indexedHeapBytes = await repeat(() => measure(() => createBacklogIndex(parseBacklog(text))));
const sessionHeapBytes = await repeat(() => measureSession());

process.stdout.write(`${JSON.stringify({ plainHeapBytes, indexedHeapBytes, sessionHeapBytes })}\n`);

function measure(build) {
  const before = settledHeap();
  held.value = build();
  const after = settledHeap();
  held.value = undefined;
  return after - before;
}

async function measureSession() {
  const before = settledHeap();
  const manager = new SessionManager({ prdText, planDir });
  held.value = manager;
  await manager.initialize();
  const after = settledHeap();
  await manager.close();
  held.value = undefined;
  return after - before;
}

async function repeat(fn) {
  await fn();
  const out = [];
  for (let k = 0; k < repeats; k++) out.push(await fn());
  return out;
}

function settledHeap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}
