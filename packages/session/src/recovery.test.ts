import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBacklog, useTempDir } from '../test/helpers.ts';
import { readSession, recoveryHint, SessionError, SessionManager } from './index.ts';

let dir: string;
let planDir: string;
useTempDir((temp) => {
  dir = temp;
  planDir = join(temp, 'plan');
});

const SHAPE = { phases: 1, milestones: 1, tasks: 1, subtasks: 3 };

/** A session folder whose journal holds `flushes` records (let go without compacting). */
async function session(flushes = 0): Promise<string> {
  const manager = new SessionManager({ prdText: '# recovery\n', planDir });
  const state = await manager.initialize({ backlog: makeBacklog(SHAPE) });
  const ids = state.taskRegistry.backlog[0]!.milestones[0]!.tasks[0]!.subtasks.map((s) => s.id);
  for (let k = 0; k < flushes; k++) {
    manager.updateItemStatus(ids[k]!, 'Complete');
    await manager.flushUpdates();
  }
  manager.closeSync();
  return state.metadata.path;
}

async function failure(work: Promise<unknown>): Promise<SessionError> {
  const error = await work.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SessionError);
  return error as SessionError;
}

describe('recoveryHint', () => {
  it('says how to fix an invalid tasks.json, or to restore its backup when there is one', async () => {
    const folder = await session();
    const tasks = join(folder, 'tasks.json');
    await writeFile(tasks, '{"backlog": 3}\n');
    const error = await failure(readSession(folder));
    expect(error.code).toBe('INVALID_BACKLOG');
    expect(recoveryHint(error)).toBe(
      `To recover: fix ${tasks} at the place named above (savepoint validate '${tasks}' lists every problem); or remove the folder ${folder} to start that session over.`,
    );
    await copyFile(tasks, `${tasks}.bak`);
    expect(recoveryHint(error)).toBe(
      `To recover: restore the last good copy with: cp '${tasks}.bak' '${tasks}'; or remove the folder ${folder} to start that session over.`,
    );
  });

  it('says to fix the file when an invalid backlog is not in a session folder', () => {
    const error = new SessionError('INVALID_BACKLOG', 'bad', { path: join(dir, 'tasks.json') });
    expect(recoveryHint(error)).toBe(
      'To recover: fix the backlog file named above, or start over with a new plan folder.',
    );
  });

  it('gives the truncate command that keeps what was saved before damage in the journal', async () => {
    const folder = await session(3);
    const journal = join(folder, 'tasks.journal');
    const bytes = await readFile(journal);
    bytes[20] = bytes[20]! ^ 0x5a; // inside the first record, well before the tail
    await writeFile(journal, bytes);
    const error = await failure(readSession(folder));
    expect(error).toMatchObject({ code: 'CORRUPT', path: journal });
    expect(recoveryHint(error)).toBe(
      `To recover: keep the changes saved before the damage with: truncate -s ${error.offset} '${journal}'; or remove the folder ${folder} to start that session over.`,
    );
  });

  it('asks for the missing file of an incomplete session', async () => {
    const folder = await session();
    await rm(join(folder, 'prd_snapshot.md'));
    const error = await failure(readSession(folder));
    expect(error.code).toBe('INCOMPLETE_SESSION');
    expect(recoveryHint(error)).toBe(
      `To recover: put the missing file back (from a backup or the parent session), or remove the folder ${folder} to start that session over.`,
    );
  });

  it('has nothing to say about errors that are not damage', () => {
    expect(recoveryHint(new SessionError('LOCKED', 'held'))).toBeUndefined();
    expect(recoveryHint(new SessionError('NOT_FOUND', 'gone'))).toBeUndefined();
  });
});
