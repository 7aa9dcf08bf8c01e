#!/usr/bin/env node
// `pnpm test:stress [vitest args...]`: runs the whole vitest suite while every core is kept busy,
// to show that no test depends on how fast the machine is. Exit code: the suite's.
//
// The load is one child process with one worker thread per core (os.availableParallelism()), each
// spinning in a tight loop at normal priority. It ends when this script ends, however that
// happens: on the suite's exit, on Ctrl-C or SIGTERM (both are passed on to the suite), on an
// error here, and even when this script is killed with SIGKILL (the load's main thread watches
// the pipe from this script and exits when it closes).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const CORES = os.availableParallelism();

// The load process. Its main thread only waits for stdin to close; the workers spin.
const LOAD = `
const { Worker } = require('node:worker_threads');
const spin = 'let x = 0; for (;;) { x = (x * 1103515245 + 12345) % 2147483648; }';
for (let i = 0; i < ${CORES}; i++) new Worker(spin, { eval: true });
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdout.write('spinning\\n');
`;

function startLoad() {
  const load = spawn(process.execPath, ['-e', LOAD], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise((resolvePromise, reject) => {
    load.once('error', reject);
    load.once('exit', (code, signal) =>
      reject(new Error(`the load generator exited before it started (${code ?? signal})`)),
    );
    load.stdout.on('data', (chunk) => {
      if (String(chunk).includes('spinning')) resolvePromise();
    });
  });
  return { load, ready };
}

/** CPU seconds the process has used so far (Linux /proc), or undefined elsewhere. */
function cpuSeconds(pid) {
  const path = `/proc/${pid}/stat`;
  if (!existsSync(path)) return undefined;
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return ticks / 100; // USER_HZ is 100 on Linux
}

async function main() {
  const { load, ready } = startLoad();
  const stopLoad = () => {
    if (load.exitCode === null && load.signalCode === null) load.kill('SIGKILL');
  };
  process.on('exit', stopLoad);
  try {
    await ready;
  } catch (error) {
    stopLoad();
    throw error;
  }
  const startedAt = Date.now();
  const cpuAtStart = cpuSeconds(load.pid);
  console.error(
    `stress: ${CORES} spinning threads (one per core) in pid ${load.pid}; running vitest run`,
  );

  const suite = spawn(process.execPath, [VITEST, 'run', ...process.argv.slice(2)], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  // Ctrl-C reaches the suite from the terminal too; a SIGTERM sent to this script alone is passed
  // on. Either way this script waits for the suite and then stops the load.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (suite.exitCode === null && suite.signalCode === null) suite.kill(signal);
    });
  }
  const { code, signal } = await new Promise((resolvePromise, reject) => {
    suite.once('error', reject);
    suite.once('exit', (exitCode, exitSignal) =>
      resolvePromise({ code: exitCode, signal: exitSignal }),
    );
  });

  const wallSeconds = (Date.now() - startedAt) / 1000;
  const cpuAtEnd = cpuSeconds(load.pid);
  const loadAlive = load.exitCode === null && load.signalCode === null;
  stopLoad();
  if (cpuAtStart !== undefined && cpuAtEnd !== undefined) {
    const busy = (cpuAtEnd - cpuAtStart) / wallSeconds;
    console.error(
      `stress: the load used ${(cpuAtEnd - cpuAtStart).toFixed(0)} CPU-seconds in ` +
        `${wallSeconds.toFixed(0)} s of suite (${busy.toFixed(2)} of ${CORES} cores on average)` +
        (loadAlive ? '' : '; it was no longer running at the end'),
    );
  }
  if (!loadAlive) {
    console.error('stress: the load generator died during the run, so this run proves nothing');
    return 1;
  }
  if (signal !== null) return 128 + (os.constants.signals[signal] ?? 0);
  return code ?? 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`stress: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  },
);
