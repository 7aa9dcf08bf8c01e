import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Backlog, parseBacklog } from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import { REAL_BACKLOGS, useTempDir } from '../test/helpers.ts';
import { hashPrd, listSessions, SessionManager } from './index.ts';

const files = existsSync(REAL_BACKLOGS)
  ? readdirSync(REAL_BACKLOGS)
      .filter((name) => name.endsWith('.tasks.json'))
      .sort()
  : [];
const prdFile = join(REAL_BACKLOGS, '002_1e734971e481.prd_snapshot.md');

let planDir: string;
useTempDir((temp) => {
  planDir = join(temp, 'plan');
});

/** Values and key order, independent of whitespace. */
function canonical(value: unknown): string {
  return JSON.stringify(value);
}

function firstSubtask(backlog: Backlog) {
  return backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0]!;
}

describe.skipIf(files.length === 0)('real backlogs', () => {
  it.each(files)(
    'loads %s into a session and saves it with values and key order kept',
    async (file) => {
      const original = await readFile(join(REAL_BACKLOGS, file), 'utf8');
      // A folder named like the real one; its hash need not match the snapshot inside.
      const id = file.slice(0, '001_14b9dc2a33c7'.length);
      const folder = join(planDir, id);
      await mkdir(folder, { recursive: true });
      await copyFile(join(REAL_BACKLOGS, file), join(folder, 'tasks.json'));
      await copyFile(prdFile, join(folder, 'prd_snapshot.md'));

      const manager = new SessionManager({ planDir });
      const state = await manager.loadSession(folder);
      expect(state.metadata.hash).toBe(id.slice(4));
      expect(canonical(state.taskRegistry)).toBe(canonical(JSON.parse(original)));

      // The original design's shutdown: flush, then save the registry.
      await manager.flushUpdates();
      await manager.saveBacklog(manager.currentSession!.taskRegistry);
      const saved = await readFile(join(folder, 'tasks.json'), 'utf8');
      expect(canonical(JSON.parse(saved))).toBe(canonical(JSON.parse(original)));
      expect(saved.endsWith('}\n')).toBe(true);

      // A status change touches that item and its roll-up, and nothing else.
      const subtask = firstSubtask(state.taskRegistry);
      manager.updateItemStatus(subtask.id, 'Failed');
      await manager.close();
      const changed = parseBacklog(await readFile(join(folder, 'tasks.json'), 'utf8'));
      expect(firstSubtask(changed).status).toBe('Failed');
      const restored = structuredClone(changed);
      firstSubtask(restored).status = 'Complete';
      restored.backlog[0]!.status = 'Complete';
      restored.backlog[0]!.milestones[0]!.status = 'Complete';
      restored.backlog[0]!.milestones[0]!.tasks[0]!.status = 'Complete';
      expect(canonical(restored)).toBe(canonical(JSON.parse(original)));
    },
  );

  it.each(files)('creates a session from %s with the data unchanged', async (file) => {
    const original = JSON.parse(await readFile(join(REAL_BACKLOGS, file), 'utf8')) as Backlog;
    const prd = await readFile(prdFile);
    const prdPath = join(planDir, '..', 'PRD.md');
    await writeFile(prdPath, prd);
    const manager = new SessionManager({ prdPath, planDir });
    const state = await manager.initialize({ backlog: original });
    expect(state.metadata.id).toBe(`001_${hashPrd(prd)}`);
    await manager.close();
    const written = JSON.parse(await readFile(join(state.metadata.path, 'tasks.json'), 'utf8'));
    expect(canonical(written)).toBe(canonical(original));
    expect(await listSessions(planDir)).toHaveLength(1);
  });
});
