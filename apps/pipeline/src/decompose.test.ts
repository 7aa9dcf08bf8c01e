import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DecomposeError, decomposePrd } from './decompose.ts';

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

  it('makes the deepest heading level the Task level when levels are missing', () => {
    const one = decomposePrd('# Doc\n## Alpha\n- do a\n## Beta\n- do b\n');
    expect(one.backlog.map((p) => p.title)).toEqual(['Doc']);
    expect(one.backlog[0]!.milestones.map((m) => m.title)).toEqual(['Doc']);
    expect(one.backlog[0]!.milestones[0]!.tasks.map((t) => [t.id, t.title])).toEqual([
      ['P1.M1.T1', 'Alpha'],
      ['P1.M1.T2', 'Beta'],
    ]);
    const two = decomposePrd('## Users\n### Endpoints\n- x\n### Tests\n- y\n');
    expect(two.backlog[0]!.title).toBe('Plan');
    expect(two.backlog[0]!.milestones[0]!.title).toBe('Users');
    expect(two.backlog[0]!.milestones[0]!.tasks.map((t) => t.title)).toEqual([
      'Endpoints',
      'Tests',
    ]);
  });

  it('never gives a Task its Milestone’s title', () => {
    const prds = [
      '## Only phase\n- do a\n- do b\n',
      '# Doc\n### Users API\n- a\n### Billing API\n- b\n',
      '## M\n- loose item\n### T\n- x\n',
      '## P\n### M\nJust prose.\n### N\n- y\n',
      '# Doc\n- a checklist item\n',
      '## P\n### M\n#### T\n- x\n## Q\n- loose\n',
    ];
    for (const prd of prds) {
      for (const phase of decomposePrd(prd).backlog) {
        for (const milestone of phase.milestones) {
          for (const task of milestone.tasks) expect(task.title, prd).not.toBe(milestone.title);
        }
      }
    }
  });

  it('puts items written above Task level into a Task named General', () => {
    const backlog = decomposePrd('## M\n- loose item\n### T\n- x\n## N\nProse only.\n');
    const [m, n] = backlog.backlog[0]!.milestones;
    expect(m!.tasks.map((t) => [t.title, t.subtasks.map((s) => s.title)])).toEqual([
      ['General', ['loose item']],
      ['T', ['x']],
    ]);
    expect(n!.tasks.map((t) => [t.title, t.subtasks.map((s) => s.title)])).toEqual([
      ['General', ['N']],
    ]);
  });

  it('reads setext headings (=== level 1, --- level 2)', () => {
    const backlog = decomposePrd(
      [
        'Billing service',
        '===============',
        '',
        'Intro.',
        '',
        'Users',
        'API',
        '-----',
        '- create',
        '',
        'Billing',
        '---',
        '- charge',
        '',
        '---',
        '',
        '- after a thematic break',
      ].join('\n'),
    );
    expect(backlog.backlog[0]!.title).toBe('Billing service');
    const tasks = backlog.backlog[0]!.milestones[0]!.tasks;
    expect(tasks.map((t) => [t.title, t.subtasks.map((s) => s.title)])).toEqual([
      ['Users API', ['create']],
      ['Billing', ['charge', 'after a thematic break']],
    ]);
  });

  it('skips YAML front matter', () => {
    const backlog = decomposePrd(
      '---\ntitle: Billing\nowner: me\n---\n# Billing\n## Charge\n- x\n',
    );
    expect(backlog.backlog[0]!.title).toBe('Billing');
    expect(backlog.backlog[0]!.milestones[0]!.tasks.map((t) => t.title)).toEqual(['Charge']);
  });

  it('starts checked items Complete and rolls that up', () => {
    const backlog = decomposePrd(
      '## A\n- [x] done\n* [X] also done\n- [ ] to do\n## B\n- [x] finished\n',
    );
    const [a, b] = backlog.backlog[0]!.milestones[0]!.tasks;
    expect(a!.subtasks.map((s) => [s.title, s.status])).toEqual([
      ['done', 'Complete'],
      ['also done', 'Complete'],
      ['to do', 'Planned'],
    ]);
    expect(a!.status).not.toBe('Complete');
    expect(b!.subtasks[0]!.status).toBe('Complete');
    expect(b!.status).toBe('Complete');
  });

  it('skips sections that are not work, with their subsections, and keeps ids dense', () => {
    const backlog = decomposePrd(
      [
        '# Doc',
        '## Build',
        '- a',
        '## Non-Goals',
        '- not this',
        '### Still a non-goal',
        '- nor this',
        '## 7. References',
        '- a link',
        '## Appendix A: data model',
        '- a table',
        '## Background and motivation',
        '- history',
        '## FAQ',
        '- why',
        '## Ship',
        '- s',
      ].join('\n'),
    );
    expect(subtasksOf(backlog as never).map((s) => [s.id, s.title])).toEqual([
      ['P1.M1.T1.S1', 'a'],
      ['P1.M1.T2.S1', 's'],
    ]);
  });

  it.each([
    ['', 'EMPTY', /prd\.md is empty/],
    [' \n\t\n', 'EMPTY', /prd\.md is blank/],
    ['# Title\u0000\u0001', 'BINARY', /prd\.md is not a text file/],
    [
      Buffer.from([0xff, 0xfe, 0x89, 0x50, 0xc3, 0x28, 0xa0, 0xa1]).toString('utf8'),
      'BINARY',
      /not a text/,
    ],
    ['Build the thing\n\n- step one\n', 'NO_HEADINGS', /prd\.md has no markdown heading/],
    ['# Title\n## Non-goals\n- x\n', 'NO_WORK', /prd\.md has no work to plan/],
  ])('refuses %j with DecomposeError %s', (text, code, message) => {
    let thrown: unknown;
    try {
      decomposePrd(text, { source: 'docs/prd.md' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DecomposeError);
    expect((thrown as DecomposeError).code).toBe(code);
    expect((thrown as DecomposeError).message).toMatch(message);
    expect((thrown as DecomposeError).source).toBe('docs/prd.md');
  });

  it('ignores fenced code and inline markdown, and keeps a # inside a heading', () => {
    const backlog = decomposePrd(
      '## **Bold** phase\n```\n- not an item\n## not a heading\n```\n- use `code` and [a link](http://x)\n## Learn C# ##\n- x\n',
    );
    expect(backlog.backlog[0]!.milestones[0]!.tasks.map((t) => t.title)).toEqual([
      'Bold phase',
      'Learn C#',
    ]);
    expect(subtasksOf(backlog as never).map((s) => s.title)).toEqual(['use code and a link', 'x']);
  });

  it('keeps headings deeper than the task level as tasks named after their parent task', () => {
    const backlog = decomposePrd('## P\n### M\n#### T\n##### Deep\n- x\n');
    const tasks = backlog.backlog[0]!.milestones[0]!.tasks;
    expect(tasks.map((t) => t.title)).toEqual(['T', 'T: Deep']);
    expect(tasks[1]!.subtasks[0]!.title).toBe('x');
  });
});
