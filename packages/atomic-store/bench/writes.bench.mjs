// Durable write throughput of @savepoint/atomic-store against write-file-atomic, atomically,
// steno and a hand-written temp + fsync + rename + folder-fsync floor, side by side in one run.
//
//   pnpm --filter @savepoint/atomic-store build && node bench/writes.bench.mjs [--quick]
//
// Set BENCH_DIR to benchmark another file system (default: the OS temp folder).
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeFile as atomicallyWrite } from 'atomically';
import { Writer as StenoWriter } from 'steno';
import { Bench } from 'tinybench';
import writeFileAtomicLib from 'write-file-atomic';
import { writeFileAtomic } from '../dist/index.js';

const SIZES = [
  { label: '1 KiB', bytes: 1024 },
  { label: '100 KiB', bytes: 100 * 1024 },
  { label: '4 MiB', bytes: 4 * 1024 * 1024 },
];
const BURST = 1000;

/**
 * Runs every case and returns one row per contender and case, plus the ratios of this package's
 * median time to each other contender's (below 1 means faster).
 * `burstContenders` limits the burst cases to these contenders besides atomic-store (a burst of
 * 1,000 fully synced writes takes seconds per sample for the libraries that do not coalesce).
 * @param {{ quick?: boolean, burstContenders?: string[] }} [options]
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const burstContenders = options.burstContenders;
  const root = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'atomic-store-bench-'));
  const results = [];
  const ratios = [];
  try {
    for (const size of SIZES) {
      const data = payload(size.bytes);
      for (const mode of ['one-by-one', 'burst']) {
        const rows = await runCase(root, size, mode, data, quick, burstContenders);
        results.push(...rows);
        const ours = rows.find((row) => row.name === 'atomic-store');
        const ratioOf = (name) => {
          const other = rows.find((row) => row.name === name);
          return other === undefined ? null : round(ours.medianMs / other.medianMs);
        };
        ratios.push({
          case: `${mode} ${size.label}`,
          vsFloor: ratioOf('hand-written floor'),
          vsWriteFileAtomic: ratioOf('write-file-atomic'),
          vsAtomically: ratioOf('atomically'),
          vsSteno: ratioOf('steno'),
        });
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return { name: 'atomic-store writes', results, ratios };
}

async function runCase(root, size, mode, data, quick, burstContenders) {
  const dir = join(root, `${mode}-${size.bytes}`);
  fs.mkdirSync(dir);
  const file = (name) => join(dir, `${name.replace(/[^a-z]/g, '')}.json`);
  const steno = new StenoWriter(file('steno'));
  const contenders = {
    'atomic-store': (path, coalesce) => writeFileAtomic(path, data, { coalesce }),
    'hand-written floor': (path) => floorWrite(path, data),
    'write-file-atomic': (path) => writeFileAtomicLib(path, data),
    atomically: (path) => atomicallyWrite(path, data),
    steno: () => steno.write(data),
  };
  // Without coalescing, a 4 MiB burst makes 4 GiB of fsynced writes; only in a full run.
  const hugeBurst = mode === 'burst' && size.bytes > 1024 * 1024;
  const names = Object.keys(contenders).filter((name) => {
    if (mode === 'burst' && name === 'hand-written floor') return false; // no queue: not comparable
    const dropped = burstContenders !== undefined && !burstContenders.includes(name);
    if (mode === 'burst' && name !== 'atomic-store' && dropped) return false;
    if (hugeBurst && quick) return name === 'atomic-store' || name === 'steno';
    return true;
  });

  const best = new Map();
  const rounds = quick ? 1 : 2;
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so drift in the disk's state does not favour one contender.
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const path = file(name);
      fs.writeFileSync(path, data);
      const write = contenders[name];
      const slow = mode === 'burst' && name !== 'atomic-store' && name !== 'steno';
      const bench = new Bench({
        time: quick ? 150 : 600,
        iterations: mode === 'burst' ? (slow ? (hugeBurst ? 1 : 3) : 10) : quick ? 20 : 50,
        warmup: !slow,
        warmupIterations: mode === 'burst' ? 2 : 10,
        throws: true,
      });
      if (mode === 'one-by-one') {
        bench.add(name, () => write(path, false));
      } else {
        bench.add(name, async () => {
          const all = new Array(BURST);
          for (let i = 0; i < BURST; i++) all[i] = write(path, true);
          await Promise.all(all);
        });
      }
      await bench.run();
      const { latency } = bench.tasks[0].result;
      const row = {
        name,
        case: `${mode} ${size.label}`,
        size: size.bytes,
        mode,
        medianMs: round3(latency.p50),
        minMs: round3(latency.min),
        maxMs: round3(latency.max),
        samples: latency.samplesCount,
      };
      const previous = best.get(name);
      if (previous === undefined || row.medianMs < previous.medianMs) best.set(name, row);
    }
  }
  return names.map((name) => best.get(name));
}

const open = promisify(fs.open);
const write = promisify(fs.write);
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
const rename = promisify(fs.rename);
let counter = 0;

/** The least a fully durable replace can do: temp, write, fsync, close, rename, folder fsync. */
async function floorWrite(path, data) {
  const temp = `${path}.${process.pid}.${counter++}.tmp`;
  const fd = await open(temp, 'wx', 0o644);
  await write(fd, data);
  await fsync(fd);
  await close(fd);
  await rename(temp, path);
  const dirFd = await open(dirname(path), 'r');
  await fsync(dirFd);
  await close(dirFd);
}

function payload(bytes) {
  const item = '{"id":"P1.M1.T1.S1","title":"Write the thing","status":"Planned"},\n';
  return `[\n${item.repeat(Math.ceil(bytes / item.length))}`.slice(0, bytes - 2).concat('\n]');
}

/** Two decimals, or two significant digits for ratios far below 1. */
function round(value) {
  return value >= 0.1 ? Math.round(value * 100) / 100 : Number(value.toPrecision(2));
}

function round3(value) {
  return Math.round(value * 1000) / 1000;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const { results, ratios } = await run({ quick });
  console.table(results);
  console.log('Ratios of atomic-store median time to each contender (below 1 = faster):');
  console.table(ratios);
}
