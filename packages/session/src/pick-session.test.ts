import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBacklog, useTempDir } from '../test/helpers.ts';
import {
  createFileStore,
  createMemoryStore,
  pickSession,
  SessionError,
  SessionManager,
} from './index.ts';

let planDir: string;
useTempDir((temp) => {
  planDir = join(temp, 'plan');
});

const SHAPE = { phases: 1, milestones: 1, tasks: 1, subtasks: 2 };

async function createSession(prdText: string): Promise<string> {
  const manager = new SessionManager({ prdText, planDir });
  const state = await manager.initialize({ backlog: makeBacklog(SHAPE) });
  await manager.close();
  return state.metadata.id;
}

async function notFound(work: Promise<unknown>): Promise<SessionError> {
  const error = await work.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SessionError);
  expect(error).toMatchObject({ code: 'NOT_FOUND' });
  return error as SessionError;
}

describe('pickSession', () => {
  it('finds a session by id, sequence number or PRD hash, and the latest without one', async () => {
    const first = await createSession('# first\n');
    const second = await createSession('# second\n');
    const store = createFileStore(planDir);
    expect((await pickSession(store)).id).toBe(second);
    expect((await pickSession(store, undefined)).id).toBe(second);
    expect((await pickSession(store, first)).id).toBe(first);
    expect((await pickSession(store, '1')).id).toBe(first);
    expect((await pickSession(store, '002')).id).toBe(second);
    const picked = await pickSession(store, first.slice(4));
    expect(picked).toMatchObject({ id: first, sequence: 1, path: join(planDir, first) });
  });

  it('names the store and the sessions it has when none matches', async () => {
    const first = await createSession('# first\n');
    const store = createFileStore(planDir);
    const error = await notFound(pickSession(store, '7'));
    expect(error.message).toBe(`no session '7' in ${store.location} (sessions: ${first})`);
    expect(error.id).toBe('7');
    await notFound(pickSession(store, 'abc'));
  });

  it('says the store has no session at all, with no id', async () => {
    const store = createMemoryStore({ location: 'memory://empty' });
    const error = await notFound(pickSession(store));
    expect(error.message).toBe('no session in memory://empty');
    expect(error.id).toBeUndefined();
    const named = await notFound(pickSession(store, '1'));
    expect(named.message).toBe("no session '1' in memory://empty (sessions: none)");
  });
});
