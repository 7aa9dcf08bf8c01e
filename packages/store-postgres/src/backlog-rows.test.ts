import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBacklog } from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import { backlogToRows, rowsToBacklog } from './backlog-rows.ts';

const REAL = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  '..',
  'shared',
  'fixtures',
  'real-backlogs',
);

describe('backlogToRows / rowsToBacklog', () => {
  const files = readdirSync(REAL).filter((name) => name.endsWith('.tasks.json'));

  it('finds the six real backlogs', () => {
    expect(files).toHaveLength(6);
  });

  it.each(files)('gives %s back equal, with identical key order', (name) => {
    const text = readFileSync(join(REAL, name), 'utf8');
    const { document, items } = backlogToRows(parseBacklog(text));
    const back = rowsToBacklog(document, items);
    // JSON.stringify writes keys in their order, so equal strings mean equal data and key order.
    expect(JSON.stringify(back)).toBe(JSON.stringify(JSON.parse(text)));
  });

  it('lays items out depth-first with their subtree ranges, paths and dependencies', () => {
    const backlog = parseBacklog(
      readFileSync(
        join(import.meta.dirname, '..', 'test', 'fixtures', 'odd-keys.tasks.json'),
        'utf8',
      ),
    );
    const { items } = backlogToRows(backlog);
    expect(items.map((item) => [item.id, item.level, item.position, item.subtreeEnd])).toEqual([
      ['P1', 0, 0, 6],
      ['P1.M1', 1, 1, 6],
      ['P1.M1.T1', 2, 2, 5],
      ['P1.M1.T1.S1', 3, 3, 4],
      ['P1.M1.T1.S2', 3, 4, 5],
      ['P1.M1.T2', 2, 5, 6],
    ]);
    expect(items[4]!.path).toEqual(['P1', 'P1.M1', 'P1.M1.T1']);
    expect(items[4]!.dependencies).toEqual(['P1.M1.T1.S1']);
    expect(items[0]!.dependencies).toEqual([]);
  });

  it('keeps unknown keys where they were, and takes statuses from the rows', () => {
    const text = readFileSync(
      join(import.meta.dirname, '..', 'test', 'fixtures', 'odd-keys.tasks.json'),
      'utf8',
    );
    const { document, items } = backlogToRows(parseBacklog(text));
    const changed = items.map((item) =>
      item.id === 'P1.M1.T1.S1' ? { ...item, status: 'Complete' } : item,
    );
    const back = rowsToBacklog(document, changed, 'P1.M1.T1.S2');
    const expected = JSON.parse(text);
    expected.backlog[0].milestones[0].tasks[0].subtasks[0].status = 'Complete';
    expected.currentItemId = 'P1.M1.T1.S2';
    expect(JSON.stringify(back)).toBe(JSON.stringify(expected));
    expect(Object.keys(back)).toEqual(['owner', 'backlog', 'currentItemId', 'zzz']);
  });
});
