// Helpers shared by the cross-package benchmarks in this folder and by scripts/bench.mjs.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Bench } from 'tinybench';

/** Deterministic PRNG (shared with the backlog generator) so every run benchmarks the same operations. */
export { mulberry32 } from '../packages/task-schema/bench/generate.mjs';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where benchmarks put their files; BENCH_DIR picks another file system, as in atomic-store's bench. */
export function benchBaseDir() {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: read by a benchmark, never by a turbo task
  return process.env.BENCH_DIR ?? tmpdir();
}

/** A fresh temp folder under {@link benchBaseDir}. */
export function makeTempDir(prefix) {
  return mkdtemp(join(benchBaseDir(), `savepoint-${prefix}-`));
}

/** Absolute path of a file in the repository. */
export function repoPath(...parts) {
  return join(ROOT, ...parts);
}

/** Imports a package's built entry point (`packages/<name>/dist/index.js`). */
export function importDist(folder) {
  return import(pathToFileURL(repoPath(folder, 'dist', 'index.js')).href);
}

/** The generator of realistic backlogs that task-schema's benchmark uses. */
export async function loadGenerator() {
  const module = await import(
    pathToFileURL(repoPath('packages', 'task-schema', 'bench', 'generate.mjs')).href
  );
  return module.generateBacklog;
}

/**
 * Median, min and max of a tinybench task's samples, in milliseconds. Throws when the task did not
 * complete, so a failing benchmark never shows up as a number.
 */
export function summarizeTask(task, extra = {}) {
  const result = task.result;
  if (result.state !== 'completed') {
    throw new Error(`benchmark task "${task.name}" ${result.state}`, { cause: result.error });
  }
  const { latency } = result;
  return {
    name: task.name,
    medianMs: latency.p50,
    minMs: latency.min,
    maxMs: latency.max,
    samples: latency.samplesCount,
    ...extra,
  };
}

/**
 * Measures contenders side by side with tinybench. The contenders take turns in `rounds` short
 * rounds, in alternating order, and every sample of every round is pooled: on a shared machine the
 * load drifts, and a contender measured only at the start or only at the end would pay for it.
 *
 * @param {{ name: string, fn: () => unknown, beforeEach?: () => unknown }[]} tasks
 * @param {{ rounds: number, time: number, iterations: number, warmupIterations?: number }} options
 *   `time` (ms) and `iterations` are per task and round, both minimums as in tinybench
 * @returns {Promise<Map<string, ReturnType<typeof summarizeValues>>>} one summary per task name
 */
export async function compareSideBySide(tasks, options) {
  const samples = new Map(tasks.map((task) => [task.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? tasks : [...tasks].reverse();
    for (const task of order) {
      const warmupIterations = round === 0 ? (options.warmupIterations ?? 1) : 0;
      const bench = new Bench({
        time: options.time,
        iterations: options.iterations,
        warmup: warmupIterations > 0,
        warmupIterations,
        warmupTime: 0,
        retainSamples: true,
        throws: true,
      });
      bench.add(task.name, task.fn, task.beforeEach ? { beforeEach: task.beforeEach } : {});
      await bench.run();
      const result = bench.tasks[0].result;
      if (result.state !== 'completed') {
        throw new Error(`benchmark task "${task.name}" ${result.state}`, { cause: result.error });
      }
      samples.get(task.name).push(...result.latency.samples);
    }
  }
  return new Map(
    tasks.map((task) => [task.name, summarizeValues(task.name, samples.get(task.name))]),
  );
}

/** Median, min and max of plain numbers (milliseconds of whole-process runs). */
export function summarizeValues(name, values, extra = {}) {
  const { median, min, max, samples } = describeValues(values, name);
  return { name, medianMs: median, minMs: min, maxMs: max, samples, ...extra };
}

/** Median, min, max and count of any measurements (bytes, rates). */
export function describeValues(values, what = 'a measurement') {
  if (values.length === 0) throw new Error(`no samples of ${what}`);
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples: sorted.length };
}

/** Divides every time of a summary by `count`: the cost of one operation of a batch. */
export function perOperation(summary, count, name = summary.name) {
  return {
    ...summary,
    name,
    medianMs: summary.medianMs / count,
    minMs: summary.minMs / count,
    maxMs: summary.maxMs / count,
  };
}

const open = promisify(fs.open);
const write = promisify(fs.write);
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
const rename = promisify(fs.rename);
let floorCounter = 0;

/**
 * The least a fully durable replace of a file must do, written by hand: exclusive temp file, every
 * byte written, fsync, close, rename over the target, fsync of the folder. The physical floor every
 * durable writer is compared with.
 */
export async function durableWriteFloor(path, data) {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const temp = `${path}.${process.pid}.${floorCounter++}.floor-tmp`;
  const fd = await open(temp, 'wx', 0o644);
  try {
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await write(fd, bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    await fsync(fd);
  } finally {
    await close(fd);
  }
  await rename(temp, path);
  const folder = await open(dirname(path), 'r');
  try {
    await fsync(folder);
  } finally {
    await close(folder);
  }
}

/** The synchronous twin of {@link durableWriteFloor}, for a process about to exit. */
export function durableWriteFloorSync(path, data) {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const temp = `${path}.${process.pid}.${floorCounter++}.floor-tmp`;
  const fd = fs.openSync(temp, 'wx', 0o644);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, path);
  const folder = fs.openSync(dirname(path), 'r');
  try {
    fs.fsyncSync(folder);
  } finally {
    fs.closeSync(folder);
  }
}

/**
 * Runs a command to completion and measures the wall time from spawn to exit with
 * `performance.now()`. Resolves with the time, exit code, signal and captured output.
 */
export function timeProcess(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let exitedAt = 0;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', () => {
      exitedAt = performance.now();
    });
    child.once('close', (code, signal) => {
      resolve({ ms: exitedAt - started, code, signal, stdout, stderr });
    });
  });
}

/** Progress lines on stderr; stdout stays free for results. */
export function makeLogger(prefix) {
  const started = performance.now();
  return (message) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`[${seconds}s] ${prefix}: ${message}\n`);
  };
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}
