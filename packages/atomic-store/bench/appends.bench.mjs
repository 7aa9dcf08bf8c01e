// Durable appends of 1 KiB records through @savepoint/atomic-store against the least Node can
// do for the same guarantee, side by side in one run:
// - the floor: one fs.promises FileHandle kept open, write + datasync per record;
// - fs.promises appendFile with an open, datasync and close per record (what a caller without a
//   kept handle writes);
// - the synchronous floor: fs.writeSync + fs.fdatasyncSync on one descriptor.
//
//   pnpm --filter @savepoint/atomic-store build && node bench/appends.bench.mjs [--quick]
//
// Set BENCH_DIR to benchmark another file system (default: the OS temp folder).
import * as fs from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { appendFileDurable, openAppendFile } from '../dist/index.js';

const RECORD_BYTES = 1024;

/**
 * Measures one durable 1 KiB append per iteration for every contender and returns the rows and
 * the ratios of this package's median time to its floor (1 = as fast as the floor).
 * @param {{ quick?: boolean }} [options]
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const root = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'atomic-store-appends-'));
  const record =
    `${JSON.stringify({ id: 'P1.M1.T1.S1', status: 'Complete', pad: 'x'.repeat(RECORD_BYTES) })}`
      .slice(0, RECORD_BYTES - 1)
      .concat('\n');
  try {
    const contenders = await makeContenders(root, record);
    const names = Object.keys(contenders.run);
    const best = new Map();
    const rounds = quick ? 1 : 3;
    for (let round = 0; round < rounds; round++) {
      // Alternate the order so drift in the disk's state does not favour one contender.
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const bench = new Bench({
          time: quick ? 150 : 1000,
          iterations: quick ? 20 : 100,
          warmupIterations: 10,
          throws: true,
        });
        bench.add(name, contenders.run[name]);
        await bench.run();
        const { latency } = bench.tasks[0].result;
        const row = {
          name,
          medianMs: round3(latency.p50),
          minMs: round3(latency.min),
          maxMs: round3(latency.max),
          samples: latency.samplesCount,
        };
        const previous = best.get(name);
        if (previous === undefined || row.medianMs < previous.medianMs) best.set(name, row);
      }
    }
    await contenders.close();
    const results = names.map((name) => best.get(name));
    const median = (name) => best.get(name).medianMs;
    const ratios = {
      'AppendFile.append / floor (FileHandle write + datasync)': ratio(
        median(APPEND),
        median(FLOOR),
      ),
      'AppendFile.append / fs.promises appendFile with open + datasync + close per call': ratio(
        median(APPEND),
        median(PER_CALL),
      ),
      'AppendFile.appendSync / sync floor (writeSync + fdatasyncSync)': ratio(
        median(APPEND_SYNC),
        median(SYNC_FLOOR),
      ),
      'appendFileDurable / fs.promises appendFile with open + datasync + close per call': ratio(
        median(ONE_SHOT),
        median(PER_CALL),
      ),
    };
    return { name: 'atomic-store appends', recordBytes: RECORD_BYTES, results, ratios };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const APPEND = 'AppendFile.append';
const FLOOR = 'floor: FileHandle write + datasync';
const PER_CALL = 'fs.promises appendFile + open/datasync/close per call';
const ONE_SHOT = 'appendFileDurable (one-shot)';
const APPEND_SYNC = 'AppendFile.appendSync';
const SYNC_FLOOR = 'sync floor: writeSync + fdatasyncSync';

async function makeContenders(root, record) {
  const file = (name) => join(root, `${name.replace(/[^a-zA-Z]/g, '')}.log`);
  const handle = await openAppendFile(file(APPEND));
  const syncHandle = await openAppendFile(file(APPEND_SYNC));
  const floor = await open(file(FLOOR), 'a');
  const syncFd = fs.openSync(file(SYNC_FLOOR), 'a');
  const perCallPath = file(PER_CALL);
  const oneShotPath = file(ONE_SHOT);
  return {
    run: {
      [APPEND]: () => handle.append(record),
      [FLOOR]: async () => {
        await floor.write(record);
        await floor.datasync();
      },
      [PER_CALL]: async () => {
        const each = await open(perCallPath, 'a');
        try {
          await each.appendFile(record);
          await each.datasync();
        } finally {
          await each.close();
        }
      },
      [ONE_SHOT]: () => appendFileDurable(oneShotPath, record),
      [APPEND_SYNC]: () => syncHandle.appendSync(record),
      [SYNC_FLOOR]: () => {
        fs.writeSync(syncFd, record);
        fs.fdatasyncSync(syncFd);
      },
    },
    async close() {
      await handle.close();
      await syncHandle.close();
      await floor.close();
      fs.closeSync(syncFd);
    },
  };
}

/** Two decimals. */
function ratio(ours, theirs) {
  return Math.round((ours / theirs) * 100) / 100;
}

function round3(value) {
  return Math.round(value * 1000) / 1000;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const { results, ratios } = await run({ quick });
  console.table(results);
  console.log('Ratios of median times (1 = as fast as the other; below 1 = faster):');
  console.table(ratios);
}
