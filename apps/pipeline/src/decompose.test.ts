import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decomposePrd } from './decompose.ts';

type Any = { [key: string]: unknown };
const subtasksOf = (backlog: { backlog: Any[] }) =>
  backlog.backlog.flatMap((p) =>
    (p.milestones as Any[]).flatMap((m) => (m.tasks as Any[]).flatMap((t) => t.subtasks as Any[])),
  );

describe('decomposePrd', () => {
  it('maps ## / ### / #### and list items to the four levels, skipping a lone H1 title', () => {
    const backlog = decomposePrd(
      [
        '# Title',
        'Intro paragraph.',
        '## Alpha',
        'About alpha.',
        '### First milestone',
        '#### A task',
        '- one',
        '- two',
        '  - detail of two',
        '#### Another task',
        '1. three',
      ].join('\n'),
    );
    expect(backlog.backlog).toHaveLength(1);
    const phase = backlog.backlog[0]!;
    expect(phase).toMatchObject({
      id: 'P1',
      type: 'Phase',
      title: 'Alpha',
      description: 'About alpha.',
    });
    const tasks = phase.milestones[0]!.tasks;
    expect(tasks.map((t) => [t.id, t.title])).toEqual([
      ['P1.M1.T1', 'A task'],
      ['P1.M1.T2', 'Another task'],
    ]);
    expect(tasks[0]!.subtasks.map((s) => [s.id, s.title, s.dependencies])).toEqual([
      ['P1.M1.T1.S1', 'one', []],
      ['P1.M1.T1.S2', 'two', ['P1.M1.T1.S1']],
    ]);
    expect(tasks[0]!.subtasks[1]!.context_scope).toContain('detail of two');
    expect(tasks[1]!.subtasks[0]).toMatchObject({ id: 'P1.M1.T2.S1', title: 'three' });
  });

  it('is deterministic and every branch ends in at least one subtask', () => {
    const text = readFileSync(new URL('../examples/prd.md', import.meta.url), 'utf8');
    const a = decomposePrd(text);
    expect(JSON.stringify(decomposePrd(text))).toBe(JSON.stringify(a));
    for (const phase of a.backlog) {
      expect(phase.milestones.length).toBeGreaterThan(0);
      for (const milestone of phase.milestones) {
        expect(milestone.tasks.length).toBeGreaterThan(0);
        for (const task of milestone.tasks) {
          expect(task.subtasks.length).toBeGreaterThan(0);
          for (const subtask of task.subtasks)
            expect(subtask.id.startsWith(`${task.id}.S`)).toBe(true);
        }
      }
    }
    expect(subtasksOf(a as never).length).toBe(15);
  });

  it('fills missing levels with containers that repeat the parent title', () => {
    const backlog = decomposePrd('## Only phase\n- do a\n- do b\n');
    const milestone = backlog.backlog[0]!.milestones[0]!;
    expect(milestone.title).toBe('Only phase');
    expect(milestone.tasks[0]!.title).toBe('Only phase');
    expect(milestone.tasks[0]!.subtasks.map((s) => s.title)).toEqual(['do a', 'do b']);
  });

  it('gives a heading without list items one subtask named after it', () => {
    const backlog = decomposePrd('## P\n### M\n#### T\nJust prose.\n');
    expect(backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks).toMatchObject([
      { id: 'P1.M1.T1.S1', title: 'T', status: 'Planned' },
    ]);
  });

  it('turns a PRD without headings into one phase named after its first line', () => {
    const backlog = decomposePrd('Build the thing\n\n- step one\n- step two\n');
    expect(backlog.backlog).toHaveLength(1);
    expect(backlog.backlog[0]!.title).toBe('Build the thing');
    expect(subtasksOf(backlog as never).map((s) => s.title)).toEqual(['step one', 'step two']);
  });

  it('handles an empty PRD and ignores fenced code and inline markdown', () => {
    expect(subtasksOf(decomposePrd('') as never)).toHaveLength(1);
    const backlog = decomposePrd(
      '## **Bold** phase\n```\n- not an item\n## not a heading\n```\n- use `code` and [a link](http://x)\n',
    );
    expect(backlog.backlog).toHaveLength(1);
    expect(backlog.backlog[0]!.title).toBe('Bold phase');
    expect(subtasksOf(backlog as never).map((s) => s.title)).toEqual(['use code and a link']);
  });

  it('keeps headings deeper than the task level as tasks named after their parent task', () => {
    const backlog = decomposePrd('## P\n### M\n#### T\n##### Deep\n- x\n');
    const tasks = backlog.backlog[0]!.milestones[0]!.tasks;
    expect(tasks.map((t) => t.title)).toEqual(['T', 'T: Deep']);
    expect(tasks[1]!.subtasks[0]!.title).toBe('x');
  });
});
