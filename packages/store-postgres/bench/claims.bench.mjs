// Benchmarks of @savepoint/store-postgres on a throwaway cluster (test/cluster.mjs):
//  1. claim + complete throughput with 1, 4 and 8 workers: the store's claims against a
//     hand-written loop of the same SQL statements on the same pool, side by side, alternating;
//  2. NOTIFY wake-up latency: from a dependency's outcome being recorded to a worker that was
//     waiting (poll interval far longer than the test) holding the subtask that became ready.
// `run()` returns `{ skipped }` when no server can start. Needs `pnpm build` (imports dist).
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { createDatabase, startCluster } from '../test/cluster.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/**
 * @param {{ quick?: boolean, log?: (message: string) => void }} [options]
 */
export async function run(options = {}) {
  const log = options.log ?? (() => {});
  const quick = options.quick ?? false;
  let cluster;
  try {
    // The default durability (fsync on): the figures are what a user's server would do.
    cluster = await startCluster({
      settings: { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' },
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { skipped: `no PostgreSQL server could start (${reason})` };
  }
  try {
    const { createPostgresStore, claimSql, recordSql } = await import(
      pathToFileURL(`${HERE}../dist/index.js`).href
    );
    const database = await createDatabase(cluster, 'bench');
    const subtasks = quick ? 200 : 400;
    const rounds = quick ? 1 : 7;
    const throughput = [];
    for (const workers of [1, 4, 8]) {
      log(`throughput: ${workers} worker(s), ${subtasks} subtasks, ${rounds} round(s) each`);
      const pool = new pg.Pool({ connectionString: database.url, max: workers + 2 });
      const store = createPostgresStore({ pool, schema: 'bench' });
      const q = '"bench"';
      const samples = { store: [], hand: [] };
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? ['store', 'hand'] : ['hand', 'store'];
        for (const who of order) {
          const id = await newSession(store, subtasks);
          const started = performance.now();
          const done =
            who === 'store'
              ? await drainWithStore(store, pool, q, id, workers)
              : await drainByHand(pool, q, id, workers, claimSql, recordSql);
          const seconds = (performance.now() - started) / 1000;
          if (done !== subtasks) throw new Error(`${who} completed ${done} of ${subtasks}`);
          samples[who].push(subtasks / seconds);
        }
      }
      await store.close();
      await pool.end();
      const storeRate = median(samples.store);
      const handRate = median(samples.hand);
      throughput.push({
        workers,
        subtasks,
        rounds,
        store: summary(samples.store),
        hand: summary(samples.hand),
        ratio: storeRate / handRate,
      });
      log(
        `  store ${storeRate.toFixed(0)}/s, hand-written ${handRate.toFixed(0)}/s: ${(storeRate / handRate).toFixed(2)}x`,
      );
    }

    const wakeSamples = quick ? 20 : 100;
    log(`wake-up latency: ${wakeSamples} samples`);
    const wake = await wakeUpLatency(createPostgresStore, database.url, wakeSamples);
    log(`  median ${wake.medianMs.toFixed(2)} ms, p95 ${wake.p95Ms.toFixed(2)} ms`);
    await database.drop();
    return {
      server: await serverVersion(cluster.url()),
      throughput,
      wake,
    };
  } finally {
    await cluster.stop();
  }
}

let hashes = 0;

async function newSession(store, subtasks) {
  hashes++;
  const hash = (hashes.toString(16) + Date.now().toString(16)).padStart(12, '0').slice(-12);
  const created = await store.create({
    hash,
    prdSnapshot: 'bench',
    tasksText: backlogText(subtasks),
    parentSession: null,
  });
  if (created.status !== 'created') throw new Error('session not created');
  await created.handle.release();
  return created.session.id;
}

/** Tasks of 10 subtasks; every other subtask waits for the one before it. */
function backlogText(subtasks) {
  const tasks = [];
  for (let t = 1; t * 10 <= subtasks; t++) {
    const list = [];
    for (let s = 1; s <= 10; s++) {
      list.push({
        type: 'Subtask',
        id: `P1.M1.T${t}.S${s}`,
        title: `Subtask ${t}.${s}`,
        status: 'Planned',
        story_points: 1,
        dependencies: s % 2 === 0 ? [`P1.M1.T${t}.S${s - 1}`] : [],
        context_scope: 'c',
      });
    }
    tasks.push({
      type: 'Task',
      id: `P1.M1.T${t}`,
      title: `Task ${t}`,
      status: 'Planned',
      description: 't',
      subtasks: list,
    });
  }
  const milestone = {
    type: 'Milestone',
    id: 'P1.M1',
    title: 'M',
    status: 'Planned',
    description: 'm',
    tasks,
  };
  const phase = {
    type: 'Phase',
    id: 'P1',
    title: 'P',
    status: 'Planned',
    description: 'p',
    milestones: [milestone],
  };
  return `${JSON.stringify({ backlog: [phase] }, null, 2)}\n`;
}

/**
 * Whether subtasks of the session are still to be done. A worker that finds nothing ready asks
 * this (the same statement for both contenders) and tries again while the answer is yes, so every
 * worker stays in the run to its end: otherwise a worker that meets only subtasks waiting on
 * others' work would leave early, and how many stay would vary from round to round.
 */
async function unfinished(pool, q, id) {
  const { rows } = await pool.query(
    `SELECT EXISTS (SELECT 1 FROM ${q}.items WHERE session_id = $1 AND level = 3
                      AND status NOT IN ('Complete', 'Obsolete')) AS more`,
    [id],
  );
  if (rows[0].more) await new Promise((resolve) => setTimeout(resolve, 1));
  return rows[0].more;
}

/** Workers claim and complete until every subtask is done; returns how many were completed. */
async function drainWithStore(store, pool, q, id, workers) {
  const claims = await store.join(id);
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, n) => {
      for (;;) {
        const claim = await claims.claimNext({ workerId: `w${n}`, leaseMs: 30_000 });
        if (!claim) {
          if (await unfinished(pool, q, id)) continue;
          return;
        }
        const result = await claims.record(claim, { status: 'Complete' });
        if (result.recorded) done++;
      }
    }),
  );
  return done;
}

/** The same two statements, written out by hand on the same pool. */
async function drainByHand(pool, q, id, workers, claimSql, recordSql) {
  const claim = claimSql(q);
  const record = recordSql(q);
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, n) => {
      for (;;) {
        const { rows } = await pool.query(claim, [id, `w${n}`, 30_000, null, []]);
        if (rows.length === 0) {
          if (await unfinished(pool, q, id)) continue;
          return;
        }
        const result = await pool.query(record, [id, rows[0].id, rows[0].token, 'Complete', null]);
        if (result.rows[0].recorded) done++;
      }
    }),
  );
  return done;
}

async function wakeUpLatency(createPostgresStore, url, samples) {
  const main = createPostgresStore({ connectionString: url, schema: 'wake' });
  // Polling far longer than the benchmark: only a notification wakes the waiter in time.
  const waiter = createPostgresStore({
    connectionString: url,
    schema: 'wake',
    pollIntervalMs: 600_000,
  });
  const latencies = [];
  try {
    for (let k = 0; k < samples; k++) {
      hashes++;
      const created = await main.create({
        hash: (hashes.toString(16) + Date.now().toString(16)).padStart(12, '0').slice(-12),
        prdSnapshot: 'wake',
        tasksText: pairText(),
        parentSession: null,
      });
      await created.handle.release();
      const id = created.session.id;
      const claims = await main.join(id);
      const waiting = await waiter.join(id);
      const first = await claims.claimNext({ workerId: 'a', leaseMs: 30_000 });
      if ((await waiting.claimNext({ workerId: 'b', leaseMs: 30_000 })) !== null) {
        throw new Error('the dependent subtask was ready too early');
      }
      const woke = waiting.waitForWork();
      await new Promise((resolve) => setImmediate(resolve));
      const started = performance.now();
      await claims.record(first, { status: 'Complete' });
      const reason = await woke;
      const got = await waiting.claimNext({ workerId: 'b', leaseMs: 30_000 });
      const elapsed = performance.now() - started;
      if (reason !== 'notified' || got?.itemId !== 'P1.M1.T1.S2') {
        throw new Error(`the waiter woke by ${reason} and claimed ${got?.itemId}`);
      }
      latencies.push(elapsed);
    }
  } finally {
    await waiter.close();
    await main.close();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    samples,
    medianMs: median(sorted),
    p95Ms: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)],
    minMs: sorted[0],
    maxMs: sorted.at(-1),
  };
}

function pairText() {
  const subtask = (s, dependencies) => ({
    type: 'Subtask',
    id: `P1.M1.T1.S${s}`,
    title: `S${s}`,
    status: 'Planned',
    story_points: 1,
    dependencies,
    context_scope: 'c',
  });
  const task = {
    type: 'Task',
    id: 'P1.M1.T1',
    title: 'T',
    status: 'Planned',
    description: 't',
    subtasks: [subtask(1, []), subtask(2, ['P1.M1.T1.S1'])],
  };
  const backlog = {
    backlog: [
      {
        type: 'Phase',
        id: 'P1',
        title: 'P',
        status: 'Planned',
        description: 'p',
        milestones: [
          {
            type: 'Milestone',
            id: 'P1.M1',
            title: 'M',
            status: 'Planned',
            description: 'm',
            tasks: [task],
          },
        ],
      },
    ],
  };
  return `${JSON.stringify(backlog, null, 2)}\n`;
}

async function serverVersion(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SHOW server_version');
    return rows[0].server_version;
  } finally {
    await client.end();
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summary(values) {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    samples: values.length,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await run({
    quick: process.argv.includes('--quick'),
    log: (message) => process.stderr.write(`${message}\n`),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
