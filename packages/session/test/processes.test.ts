import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  hashPrd,
  listSessions,
  parseSessionName,
  readSession,
  SessionError,
  SessionManager,
} from '../src/index.ts';
import { makeBacklog, makeTempDir, PACKAGE_DIR } from './helpers.ts';

// Node 20 cannot run TypeScript, so the child script and the package sources it imports are
// bundled into one plain module first (workspace packages resolve to their sources).
let script: string;
let removeBundle: () => Promise<void>;

beforeAll(async () => {
  const temp = await makeTempDir('savepoint-session-bundle-');
  removeBundle = temp.cleanup;
  script = join(temp.dir, 'session-child.mjs');
  await build({
    entryPoints: [join(PACKAGE_DIR, 'test/fixtures/session-child.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@savepoint/source'],
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await removeBundle?.();
});

let planDir: string;
let cleanup: () => Promise<void>;
const children = new Set<ChildProcess>();

beforeEach(async () => {
  const temp = await makeTempDir();
  planDir = join(temp.dir, 'plan');
  cleanup = temp.cleanup;
});

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  }
  children.clear();
  await cleanup();
});

interface Message {
  pid: number;
  event: string;
  [key: string]: unknown;
}

/** A running child with a queue of the JSON lines it printed. */
function startChild(args: string[]) {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const messages: Message[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    messages.push(JSON.parse(line) as Message);
    for (const wake of waiters.splice(0)) wake();
  });
  child.on('exit', () => {
    for (const wake of waiters.splice(0)) wake();
  });
  async function next(event?: string, timeoutMs = 15_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = messages.findIndex((message) => !event || message.event === event);
      if (index >= 0) return messages.splice(index, 1)[0]!;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `child exited (${child.exitCode ?? child.signalCode}) before "${event}": ${stderr}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for "${event}": ${stderr}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
  return {
    child,
    next,
    send: (line: string) => child.stdin!.write(`${line}\n`),
    stderr: () => stderr,
  };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await exited(child);
}

describe('two processes', () => {
  it('give concurrent initialize() calls for different PRDs distinct sequence numbers', async () => {
    for (let round = 0; round < 3; round++) {
      const prds = [`# first ${round}\n`, `# second ${round}\n`];
      const racers = prds.map((prd) => startChild(['hold', planDir, prd, 'go']));
      await Promise.all(racers.map((racer) => racer.next('loaded')));
      for (const racer of racers) racer.send('go');
      const ready = await Promise.all(racers.map((racer) => racer.next('ready')));
      const sequences = ready.map((message) => message.sequence as number).sort((a, b) => a - b);
      expect(sequences).toEqual([round * 2 + 1, round * 2 + 2]);
      for (const [k, message] of ready.entries()) {
        expect(message.id).toBe(
          `${String(message.sequence).padStart(3, '0')}_${hashPrd(prds[k]!)}`,
        );
      }
      for (const racer of racers) racer.send('close');
      await Promise.all(racers.map((racer) => racer.next('closed')));
    }
    const listed = await listSessions(planDir);
    expect(listed.map((session) => session.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const session of listed) await readSession(session.path);
  });

  it('let exactly one of two concurrent openers of the same PRD hold it; the other gets LOCKED', async () => {
    for (let round = 0; round < 3; round++) {
      const prd = `# shared ${round}\n`;
      const racers = [0, 1].map(() => startChild(['hold', planDir, prd, 'go']));
      await Promise.all(racers.map((racer) => racer.next('loaded')));
      for (const racer of racers) racer.send('go');
      const outcomes = await Promise.all(
        racers.map((racer) => Promise.race([racer.next('ready'), racer.next('error')])),
      );
      const winners = outcomes.filter((message) => message.event === 'ready');
      const losers = outcomes.filter((message) => message.event === 'error');
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(losers[0]).toMatchObject({ code: 'LOCKED', holderPid: winners[0]!.pid });
      expect(String(losers[0]!.message)).toContain(String(winners[0]!.pid));
      const winner = racers.find((racer) => racer.child.pid === winners[0]!.pid)!;
      winner.send('close');
      await winner.next('closed');
    }
    expect((await listSessions(planDir)).map((session) => session.sequence)).toEqual([1, 2, 3]);
  });
});

describe('the session lock', () => {
  it('gives a second opener a LOCKED error naming the holder pid', async () => {
    const prd = '# locked\n';
    const holder = startChild(['hold', planDir, prd, 'now']);
    const ready = await holder.next('ready');

    const second = new SessionManager({ prdText: prd, planDir });
    const error = await second.initialize().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'LOCKED', holder: { pid: holder.child.pid } });
    expect((error as Error).message).toContain(`pid ${holder.child.pid}`);
    const byPath = await second
      .loadSession(join(planDir, ready.id as string))
      .catch((caught: unknown) => caught);
    expect(byPath).toMatchObject({ code: 'LOCKED', holder: { pid: holder.child.pid } });

    holder.send('close');
    await holder.next('closed');
    const state = await second.initialize();
    expect(state.metadata.id).toBe(ready.id);
    await second.close();
  });

  it('takes over a lock left by a holder killed with SIGKILL', async () => {
    const prd = '# killed holder\n';
    const holder = startChild(['hold', planDir, prd, 'now']);
    const ready = await holder.next('ready');
    await kill(holder.child);

    const next = new SessionManager({ prdText: prd, planDir });
    const state = await next.initialize();
    expect(state.metadata.id).toBe(ready.id);
    expect(state.isNew).toBe(false);
    next.updateItemStatus('P1.M1.T1.S1', 'Complete');
    await next.close();
    expect((await readSession(state.metadata.path)).backlog.backlog[0]!.status).toBe(
      'Implementing',
    );
  });
});

describe('SIGKILL during session creation', () => {
  it('never leaves a half session, never skips or reuses a number', async () => {
    const kills = 32;
    let random = 0x5eed;
    const nextRandom = () => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random / 2 ** 31;
    };
    for (let round = 0; round < kills; round++) {
      const churner = startChild(['churn', planDir]);
      await churner.next('started');
      await new Promise((resolve) => setTimeout(resolve, Math.floor(nextRandom() * 120)));
      await kill(churner.child);
      await checkPlanDir();
    }

    // A fresh process takes over every stale lock, sweeps the temp folders of dead creators, and
    // can open every session.
    const listed = await listSessions(planDir);
    expect(listed.length).toBeGreaterThan(0);
    const last = new SessionManager({ prdText: '# after the storm\n', planDir });
    const state = await last.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 }),
    });
    expect(state.metadata.sequence).toBe(listed.length + 1);
    expect(state.metadata.parentSession).toBe(listed.at(-1)!.id);
    await last.close();
    // Temp folders and temp files of dead creators are gone.
    expect(
      (await readdir(planDir)).filter(
        (entry) => entry.startsWith('.tmp-') || entry.endsWith('.tmp'),
      ),
    ).toEqual([]);
    for (const session of listed) {
      const opener = new SessionManager({ planDir });
      await opener.loadSession(session.path);
      await opener.close();
      // A session that was flushed keeps its (emptied) journal.
      expect(
        (await readdir(session.path)).filter((name) => name !== 'tasks.journal').sort(),
      ).toEqual(
        session.sequence === 1
          ? ['prd_snapshot.md', 'tasks.json']
          : ['parent_session.txt', 'prd_snapshot.md', 'tasks.json'],
      );
    }
  }, 90_000);
});

/** Every folder that looks like a session is a complete, loadable one, numbered 1..n. */
async function checkPlanDir(): Promise<void> {
  if (!existsSync(planDir)) return;
  const entries = await readdir(planDir);
  const named = entries
    .map((entry) => parseSessionName(entry))
    .filter((name) => name !== undefined)
    .sort((a, b) => a.sequence - b.sequence);
  const listed = await listSessions(planDir);
  expect(listed.map((session) => session.id)).toEqual(named.map((name) => name.id));
  expect(named.map((name) => name.sequence)).toEqual(named.map((_, k) => k + 1));
  for (const [k, session] of listed.entries()) {
    const snapshot = await readSession(session.path);
    expect(hashPrd(snapshot.prdSnapshot)).toBe(session.hash);
    expect(snapshot.metadata.parentSession).toBe(k === 0 ? null : listed[k - 1]!.id);
    const text = await readFile(join(session.path, 'tasks.json'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
  }
}
