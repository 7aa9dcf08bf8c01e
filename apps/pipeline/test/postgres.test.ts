import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSession } from '@savepoint/session';
import { createPostgresStore, type PostgresStore } from '@savepoint/store-postgres';
import { serializeBacklog } from '@savepoint/task-schema';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  createDatabase,
  type TestDatabase,
} from '../../../packages/store-postgres/test/cluster.mjs';
import {
  clusterUrl,
  describePg,
  freshHash,
} from '../../../packages/store-postgres/test/helpers.ts';
import {
  makeBacklog,
  makePrd,
  readLines,
  runCli,
  sessionDirs,
  startCli,
  subtasks,
  tempDir,
  waitFor,
} from './helpers.ts';

// The CLI on a PostgreSQL store of the throwaway cluster: a database of its own for each test.
describePg('savepoint --store postgres://', () => {
  let database: TestDatabase;
  let storeUrl: string;
  let store: PostgresStore;
  let work: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    database = await createDatabase({ url: clusterUrl }, 'cli');
    storeUrl = database.url;
    store = createPostgresStore({ connectionString: storeUrl });
    work = tempDir();
  });
  afterEach(async () => {
    await store.close();
    await database.drop();
    work.cleanup();
  });

  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, work.dir, env);
  const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

  it('run --store creates the session in the database and works it; the read commands and resume take --store or SAVEPOINT_STORE', async () => {
    writeFileSync(join(work.dir, 'prd.md'), makePrd(1, 4));
    const done = join(work.dir, 'done.txt');
    const exec = `echo "$SAVEPOINT_ITEM_ID" >> '${done}'`;
    const run = await cli([
      'run',
      'prd.md',
      '--store',
      storeUrl,
      '--exec',
      exec,
      '--concurrency',
      '2',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = json(run.stdout);
    expect(result).toMatchObject({ completed: 4, failed: 0, remaining: 0, exitCode: 0 });
    const id = result.session as string;
    expect(readLines(done).sort()).toEqual([1, 2, 3, 4].map((s) => `P1.M1.T1.S${s}`));
    // Nothing of the session is in the plan folder but the workers' logs.
    expect(sessionDirs(join(work.dir, 'plan'))).toEqual([]);
    expect(existsSync(join(work.dir, 'plan', 'workers', id))).toBe(true);
    expect(JSON.parse((await store.readArtifact(id, 'run.json'))!)).toEqual({
      exec,
      concurrency: 2,
    });

    const listed = await cli(['sessions', '--store', storeUrl, '--json']);
    expect(json(listed.stdout).sessions).toMatchObject([{ id, completed: 4, total: 4 }]);
    const status = await cli(['status', '--json'], { SAVEPOINT_STORE: storeUrl });
    expect(json(status.stdout)).toMatchObject({ session: id, completed: 4, total: 4 });
    const shown = await cli(['show', 'P1.M1.T1.S2', '--store', storeUrl, '--json']);
    expect(json(shown.stdout)).toMatchObject({ item: { id: 'P1.M1.T1.S2', status: 'Complete' } });
    // The flag wins over the variable.
    const flagWins = await cli(['next', '--store', storeUrl], { SAVEPOINT_STORE: 'nonsense' });
    expect(flagWins.stdout).toContain(`Nothing is ready in session ${id}`);

    const reset = await cli(['set-status', 'P1.M1.T1.S2', 'Planned', '--store', storeUrl]);
    expect(reset.code, reset.stderr).toBe(0);
    const ready = await cli(['next', '--store', storeUrl, '--json']);
    expect(json(ready.stdout).ready).toEqual([
      { id: 'P1.M1.T1.S2', title: expect.any(String), status: 'Planned' },
    ]);
    // resume reuses the stored command: only S2 runs again.
    const resumed = await cli(['resume', '--store', storeUrl, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(json(resumed.stdout)).toMatchObject({ completed: 4, thisProcess: { completed: 1 } });
    expect(readLines(done).filter((line) => line === 'P1.M1.T1.S2')).toHaveLength(2);

    const exported = await cli(['export', '--store', storeUrl, '--session', id]);
    expect(exported.code).toBe(0);
    expect(subtasks(JSON.parse(exported.stdout)).map((s) => s.status)).toEqual(
      Array(4).fill('Complete'),
    );
    // A second run of the same PRD resumes the same session.
    const again = await cli(['run', 'prd.md', '--store', storeUrl, '--json']);
    expect(json(again.stdout)).toMatchObject({ session: id, thisProcess: { completed: 0 } });
  });

  it('import loads a file session with its run.json; export gives tasks.json back byte for byte; work uses the stored command', async () => {
    writeFileSync(join(work.dir, 'prd.md'), makePrd(2, 2));
    // A file session where P2 failed.
    const failing = `case "$SAVEPOINT_ITEM_ID" in P2*) exit 1;; esac`;
    const fileRun = await cli(['run', 'prd.md', '--exec', failing, '--retries', '0']);
    expect(fileRun.code, fileRun.stderr).toBe(1);
    const [folder] = sessionDirs(join(work.dir, 'plan'));
    const imported = await cli(['import', folder!, '--store', storeUrl]);
    expect(imported.code, imported.stderr).toBe(0);
    const id = imported.stdout.trim();
    expect(id).toMatch(/^001_[0-9a-f]{12}$/);
    expect(id.slice(4)).toBe(folder!.slice(-12));
    const exported = await cli(['export', '--store', storeUrl, '--session', id]);
    const expected = serializeBacklog((await readSession(folder!)).backlog);
    expect(exported.stdout).toBe(expected);
    if (
      !existsSync(join(folder!, 'tasks.journal')) ||
      readFileSync(join(folder!, 'tasks.journal')).length === 0
    ) {
      expect(exported.stdout).toBe(readFileSync(join(folder!, 'tasks.json'), 'utf8'));
    }

    const twice = await cli(['import', folder!, '--store', storeUrl]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`session ${id}`);
    expect(twice.stderr).toContain('already has the PRD hash');

    // work takes the stored command (it fails P2 again), then --exec replaces it.
    const stored = await cli(['work', '--store', storeUrl, '--json']);
    // Nothing in scope can become ready (P2.M1.T1.S1 Failed again, S2 waits on it): exit 1.
    expect(stored.code).toBe(1);
    expect(json(stored.stdout)).toMatchObject({
      completed: 2,
      failed: 1,
      remaining: 1,
      exitCode: 1,
    });
    await cli(['set-status', 'P2', 'Planned', '--store', storeUrl]);
    const fixed = await cli(['work', '--store', storeUrl, '--exec', 'true', '--json']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(json(fixed.stdout)).toMatchObject({
      completed: 4,
      failed: 0,
      thisProcess: { completed: 2 },
    });
  });

  it('run --store keeps --timeout with the session; work uses it unless given --timeout', async () => {
    writeFileSync(join(work.dir, 'prd.md'), '# PRD\n\n- one\n');
    writeFileSync(join(work.dir, 'tasks.json'), makeBacklog([[]]));
    const first = await cli([
      'run',
      'prd.md',
      '--store',
      storeUrl,
      '--backlog',
      'tasks.json',
      '--exec',
      'sleep 60',
      '--timeout',
      '400',
      '--retries',
      '0',
    ]);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toContain('(timed out after 400 ms)');
    expect(first.elapsedMs).toBeLessThan(30_000);
    const reset = () => cli(['set-status', 'P1.M1.T1.S1', 'Planned', '--store', storeUrl]);
    // A command of at least 1 s: the stored 400 ms limit ends it again.
    const log = join(work.dir, 'worker.log');
    const slow = `sleep 1; echo "$SAVEPOINT_ITEM_ID" >> "${log}"`;
    expect((await reset()).code).toBe(0);
    const limited = await cli(['work', '--store', storeUrl, '--exec', slow, '--json']);
    expect(limited.code, limited.stderr).toBe(1);
    expect(limited.stderr).toContain('(timed out after 400 ms)');
    expect(existsSync(log)).toBe(false);
    expect((await reset()).code).toBe(0);
    const lifted = await cli(['work', '--store', storeUrl, '--exec', slow, '--timeout', '0']);
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(readLines(log)).toEqual(['P1.M1.T1.S1']);
  });

  it('Ctrl-C or SIGTERM of work gives the held subtasks back at once (130/143)', async () => {
    const created = await store.create({
      hash: freshHash(),
      prdSnapshot: makePrd(1, 3),
      tasksText: makeBacklog([[], [], []]),
      parentSession: null,
    });
    if (created.status !== 'created') throw new Error('not created');
    await created.handle.release();
    const session = created.session.id;
    const log = join(work.dir, 'log');
    const exec = `echo "start $SAVEPOINT_ITEM_ID" >> '${log}'; exec sleep 60`;
    for (const [signal, code, concurrency] of [
      ['SIGINT', 130, 1],
      ['SIGTERM', 143, 2],
    ] as const) {
      writeFileSync(log, '');
      const child = startCli(
        ['work', '--store', storeUrl, '--concurrency', String(concurrency), '--exec', exec],
        work.dir,
      );
      await waitFor(() => readLines(log).length === concurrency, 60_000, 'the commands to start');
      const held = readLines(log).map((line) => line.split(' ')[1]!);
      child.child.kill(signal);
      const result = await child.result;
      expect(result.code, result.stderr).toBe(code);
      expect(result.stdout).toContain('given back');
      // Ready again at once, not after the 30 s lease.
      const next = await cli(['next', '--store', storeUrl, '--json']);
      const ready = (json(next.stdout).ready as { id: string }[]).map((item) => item.id);
      expect(ready).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T1.S3']);
      for (const id of held) {
        const last = (await store.events(session, { itemId: id })).at(-1)!;
        expect(last.to).toBe('Planned');
        expect(['abandon', 'release']).toContain(last.kind);
      }
    }
  });

  it('refuses bad stores and bad input with one clear line: exit 2 for input, 4 for a server it cannot reach', async () => {
    const malformed = await cli(['status', '--store', 'mysql://db/x']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--store must be a postgres:// or postgresql:// URL');
    const empty = await cli(['status', '--store', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--store needs a postgres:// or postgresql:// URL');
    const fromEnv = await cli(['sessions'], { SAVEPOINT_STORE: 'ann:s3cret@nowhere' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('SAVEPOINT_STORE must be');
    expect(fromEnv.stderr).not.toContain('s3cret');
    const unreachable = await cli(['status', '--store', 'postgres://ann:s3cret@127.0.0.1:1/db']);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toContain(
      'cannot use the PostgreSQL store postgres://ann@127.0.0.1:1/db',
    );
    expect(unreachable.stderr).not.toContain('s3cret');

    for (const command of [['work'], ['export'], ['import', 'x']]) {
      const result = await cli(command);
      expect(result.code, command.join(' ')).toBe(2);
      expect(result.stderr).toContain(`${command[0]} needs --store`);
    }
    expect((await cli(['work', '--store', storeUrl, '--lease-ms', 'soon'])).code).toBe(2);
    const none = await cli(['work', '--store', storeUrl]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no session in');
    const plain = join(work.dir, 'not-a-session');
    mkdirSync(plain);
    const notSession = await cli(['import', plain, '--store', storeUrl]);
    expect(notSession.code).toBe(2);
    expect(notSession.stderr).toContain('is not a session folder');
    const missing = await cli(['import', join(work.dir, '001_aaaaaaaaaaaa'), '--store', storeUrl]);
    expect(missing.code).toBe(2);

    // A session without a stored command: work needs --exec.
    writeFileSync(join(work.dir, 'prd.md'), makePrd(1, 1));
    const simulated = await cli(['run', 'prd.md', '--store', storeUrl, '--simulate', '1']);
    expect(simulated.code, simulated.stderr).toBe(0);
    const noCommand = await cli(['work', '--store', storeUrl]);
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toContain('no stored worker command');
    const unknown = await cli(['export', '--store', storeUrl, '--session', '7']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no session '7'");
    const qa = await cli(['run', 'prd.md', '--store', storeUrl, '--simulate', '1', '--qa', 'true']);
    expect(qa.code).toBe(2);
  });
});
