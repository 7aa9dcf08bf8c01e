import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSession, SessionManager } from '@savepoint/session';
import { type Backlog, createBacklogIndex } from '@savepoint/task-schema';
import { afterEach, describe, expect, it } from 'vitest';
import { backlogOf } from '../test/backlog.ts';
import { createRunner } from './runner.ts';
import { setItemStatus } from './set-status.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** Task T1 with three subtasks and task T2 with none, under P1.M1. */
function backlog(): Backlog {
  return backlogOf([[], [], []], []);
}

async function open(): Promise<SessionManager> {
  const dir = mkdtempSync(join(tmpdir(), 'set-status-'));
  dirs.push(dir);
  const manager = new SessionManager({ prdText: '# prd\n', planDir: join(dir, 'plan') });
  await manager.initialize({ backlog: backlog() });
  return manager;
}

describe('setItemStatus', () => {
  it("gives a container's subtasks the status, rolls it up and saves it", async () => {
    const manager = await open();
    manager.updateItemStatus('P1.M1.T1.S2', 'Complete');
    const result = await setItemStatus(manager, 'P1.M1.T1', 'Obsolete');
    expect(result).toEqual({
      from: 'Implementing',
      to: 'Obsolete',
      subtasks: ['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T1.S3'],
      errorReport: 'unchanged',
    });
    // Saved: a reader that does not hold the session sees it.
    const saved = createBacklogIndex(
      (await readSession(manager.currentSession!.metadata.path)).backlog,
    );
    expect(saved.subtasks('P1.M1.T1').map((s) => s.status)).toEqual([
      'Obsolete',
      'Obsolete',
      'Obsolete',
    ]);
    await manager.close();
  });

  it('sets a container without subtasks itself, and refuses an unknown id', async () => {
    const manager = await open();
    expect(await setItemStatus(manager, 'P1.M1.T2', 'Complete')).toMatchObject({
      from: 'Planned',
      to: 'Complete',
      subtasks: [],
    });
    await expect(setItemStatus(manager, 'P9', 'Complete')).rejects.toMatchObject({
      code: 'UNKNOWN_ITEM',
    });
    await manager.close();
  });

  it('removes ERROR_REPORT.md once the last Failed subtask is set otherwise', async () => {
    const manager = await open();
    const report = join(manager.currentSession!.metadata.path, 'ERROR_REPORT.md');
    const worker = (item: { id: string }) =>
      item.id === 'P1.M1.T1.S1' ? { ok: false, message: 'broken' } : undefined;
    const summary = await createRunner({ session: manager, worker }).run();
    expect(summary.errorReport).toBe('written');
    expect(readFileSync(report, 'utf8')).toContain('broken');

    const result = await setItemStatus(manager, 'P1.M1.T1.S1', 'Obsolete');
    expect(result).toMatchObject({ from: 'Failed', to: 'Obsolete', errorReport: 'removed' });
    expect(existsSync(report)).toBe(false);
    await manager.close();
  });
});
