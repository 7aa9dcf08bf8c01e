import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBacklog, useTempDir } from '../test/helpers.ts';
import { createFileStore, readSessions, SessionError, SessionManager } from './index.ts';

let planDir: string;
useTempDir((temp) => {
  planDir = join(temp, 'plan');
});

const SHAPE = { phases: 1, milestones: 1, tasks: 1, subtasks: 3 };

async function createSession(prdText: string, complete = 0): Promise<string> {
  const manager = new SessionManager({ prdText, planDir });
  const state = await manager.initialize({ backlog: makeBacklog(SHAPE) });
  for (const subtask of manager.index.subtasks().slice(0, complete)) {
    manager.updateItemStatus(subtask.id, 'Complete');
  }
  await manager.close();
  return state.metadata.path;
}

describe('readSessions', () => {
  it('reads every session with its counts, and lists a damaged one with its error', async () => {
    await createSession('# first\n', 2);
    const damaged = await createSession('# second\n');
    await createSession('# third\n');
    await writeFile(join(damaged, 'tasks.json'), '{"backlog": []');
    const readings = await readSessions(createFileStore(planDir));
    expect(readings.map((reading) => reading.summary.sequence)).toEqual([1, 2, 3]);
    const [first, second, third] = readings;
    expect(first!.counts).toMatchObject({ Complete: 2, Planned: 1, Failed: 0 });
    expect(first!.snapshot!.metadata.id).toBe(first!.summary.id);
    expect(first!.error).toBeUndefined();
    expect(second!.snapshot).toBeUndefined();
    expect(second!.error).toBeInstanceOf(SessionError);
    expect(second!.error!.code).toBe('INVALID_BACKLOG');
    expect(third!.counts).toMatchObject({ Complete: 0, Planned: 3 });
  });

  it('finds nothing in an empty plan folder', async () => {
    expect(await readSessions(createFileStore(planDir))).toEqual([]);
  });
});
