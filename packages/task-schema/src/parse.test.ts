import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backlogOf,
  keyOrder,
  milestone,
  phase,
  REAL_BACKLOGS,
  sampleBacklog,
  subtask,
  task,
} from '../test/helpers.ts';
import {
  type Backlog,
  BacklogError,
  type BacklogIssue,
  checkBacklog,
  parseBacklog,
  safeParseBacklog,
  serializeBacklog,
} from './index.ts';
import { findJsonSyntaxError } from './internal/json-syntax.ts';

function errorOf(run: () => unknown): BacklogError {
  try {
    run();
  } catch (error) {
    if (error instanceof BacklogError) return error;
    throw error;
  }
  throw new Error('expected a BacklogError, nothing was thrown');
}

describe.skipIf(!existsSync(REAL_BACKLOGS))('the real backlogs', () => {
  const files = existsSync(REAL_BACKLOGS)
    ? readdirSync(REAL_BACKLOGS).filter((name) => name.endsWith('.tasks.json'))
    : [];

  it('are all six present', () => {
    expect(files).toHaveLength(6);
  });

  it.each(files)('%s parses, has no graph errors and round-trips with its key order', (name) => {
    const file = path.join(REAL_BACKLOGS, name);
    const text = readFileSync(file, 'utf8');
    const backlog = parseBacklog(text, { source: file });
    expect(checkBacklog(backlog).filter((issue) => issue.severity === 'error')).toEqual([]);

    const written = serializeBacklog(backlog);
    const reread = parseBacklog(written);
    const original = JSON.parse(text) as unknown;
    expect(reread).toEqual(original);
    expect(JSON.stringify(reread)).toBe(JSON.stringify(original));
    expect(keyOrder(reread)).toEqual(keyOrder(original));
    // Canonical output is exactly 2-space JSON plus a final newline, and adds no keys.
    expect(written).toBe(`${JSON.stringify(original, null, 2)}\n`);
    expect(written.includes('currentItemId')).toBe(text.includes('currentItemId'));
  });

  it('accept fractional story points', () => {
    const points = files.flatMap((name) => {
      const backlog = parseBacklog(readFileSync(path.join(REAL_BACKLOGS, name), 'utf8'));
      return backlog.backlog.flatMap((p) =>
        p.milestones.flatMap((m) => m.tasks.flatMap((t) => t.subtasks.map((s) => s.story_points))),
      );
    });
    expect(points.filter((value) => value === 0.5).length).toBe(51 + 1 + 8 + 2);
  });
});

describe('lossless reading', () => {
  it('keeps unknown keys at every level, in their place, and adds nothing', () => {
    const text = JSON.stringify({
      version: 3,
      backlog: [
        {
          id: 'P1',
          type: 'Phase',
          owner: 'ops',
          title: 'Phase',
          status: 'Planned',
          description: 'd',
          milestones: [
            {
              type: 'Milestone',
              id: 'P1.M1',
              title: 'M',
              labels: ['a'],
              status: 'Planned',
              description: 'd',
              tasks: [
                {
                  type: 'Task',
                  id: 'P1.M1.T1',
                  title: 'T',
                  status: 'Planned',
                  description: 'd',
                  subtasks: [
                    {
                      context_scope: 'x',
                      type: 'Subtask',
                      id: 'P1.M1.T1.S1',
                      estimate: { hours: 2 },
                      title: 'S',
                      status: 'Planned',
                      story_points: 0.5,
                      dependencies: [],
                    },
                  ],
                  extra: null,
                },
              ],
            },
          ],
        },
      ],
      trailer: true,
    });
    const backlog = parseBacklog(text);
    expect(JSON.stringify(backlog)).toBe(text);
    expect(serializeBacklog(backlog)).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    expect('currentItemId' in backlog).toBe(false);
  });

  it('keeps currentItemId null or set as given', () => {
    const withNull = { ...sampleBacklog(), currentItemId: null };
    expect(parseBacklog(JSON.stringify(withNull)).currentItemId).toBeNull();
    const withId = { currentItemId: 'P1.M1.T1.S2', ...sampleBacklog() };
    const parsed = parseBacklog(JSON.stringify(withId));
    expect(Object.keys(parsed)).toEqual(['currentItemId', 'backlog']);
    expect(parsed.currentItemId).toBe('P1.M1.T1.S2');
  });

  it('returns the given value itself when handed a parsed value', () => {
    const value = sampleBacklog();
    expect(parseBacklog(value)).toBe(value);
  });

  it('reads UTF-8 bytes and ignores a byte order mark', () => {
    const text = JSON.stringify(sampleBacklog());
    expect(parseBacklog(new TextEncoder().encode(text))).toEqual(sampleBacklog());
    expect(parseBacklog(`\uFEFF${text}`)).toEqual(sampleBacklog());
  });
});

describe('INVALID_JSON', () => {
  const cases: [string, string, number, number, RegExp][] = [
    [
      'a trailing comma',
      '{\n  "backlog": [\n    { "type": "Phase", }\n  ]\n}',
      3,
      24,
      /property name/,
    ],
    ['empty text', '', 1, 1, /end of input/],
    ['text cut short', '{"backlog": [', 1, 14, /end of input/],
    ['a missing comma', '{"backlog": []\n "x": 1}', 2, 2, /',' or '}'/],
    ['a line break in a string', '{\n"backlog": [],\n"x": "abc\n}', 3, 10, /control character/],
    ['an unterminated string', '{"backlog": [], "x": "abc', 1, 22, /unterminated string/],
    ['garbage after the value', '{"backlog": []} x', 1, 17, /after the end/],
    ['a bad literal', '{"backlog": tru}', 1, 13, /expected a value/],
    ['a bad number', '{"backlog": [], "n": 01}', 1, 23, /invalid number/],
    ['a bad escape', '{"a": "\\x"}', 1, 8, /invalid escape/],
    ['CRLF line endings', '{\r\n"backlog": [\r\n,]\r\n}', 3, 1, /expected a value/],
    ['a byte order mark', '\uFEFF{"backlog": [}', 1, 15, /expected a value/],
  ];

  it.each(cases)('reports %s with line and column', (_name, text, line, column, message) => {
    const error = errorOf(() => parseBacklog(text, { source: 'plan/tasks.json' }));
    expect(error.code).toBe('INVALID_JSON');
    expect(error.source).toBe('plan/tasks.json');
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(error.issues).toHaveLength(1);
    const [issue] = error.issues as [BacklogIssue];
    expect(issue).toMatchObject({
      code: 'INVALID_JSON',
      severity: 'error',
      path: [],
      line,
      column,
    });
    expect(issue.message).toMatch(message);
    expect(error.message).toContain('plan/tasks.json');
    expect(error.message).toContain(`line ${line}, column ${column}`);
  });

  it('locates errors wherever JSON.parse rejects the text (property)', () => {
    const mutation = fc.tuple(
      fc.jsonValue(),
      fc.nat(),
      fc.nat(),
      fc.constantFrom(...'{}[],:"\\ x0-.e\n'),
    );
    fc.assert(
      fc.property(mutation, ([value, cut, at, char]) => {
        const valid = JSON.stringify(value, null, cut % 3);
        expect(findJsonSyntaxError(valid)).toBeUndefined();
        const broken =
          cut % 2 === 0
            ? valid.slice(0, cut % (valid.length + 1))
            : valid.slice(0, at % (valid.length + 1)) + char + valid.slice(at % (valid.length + 1));
        let accepted = true;
        try {
          JSON.parse(broken);
        } catch {
          accepted = false;
        }
        const problem = findJsonSyntaxError(broken);
        expect(problem === undefined).toBe(accepted);
        if (problem) {
          expect(problem.offset).toBeGreaterThanOrEqual(0);
          expect(problem.offset).toBeLessThanOrEqual(broken.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('copes with deep nesting without overflowing the stack', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(199_999)}`;
    expect(findJsonSyntaxError(deep)).toMatchObject({ offset: deep.length });
  });
});

describe('SCHEMA', () => {
  function schemaIssues(value: unknown): BacklogIssue[] {
    const error = errorOf(() => parseBacklog(value, { source: 'x.json' }));
    expect(error.code).toBe('SCHEMA');
    expect(error.source).toBe('x.json');
    return [...error.issues];
  }

  const at = ['backlog', 0, 'milestones', 0, 'tasks', 0, 'subtasks', 0];
  function withSubtask(change: (s: Record<string, unknown>) => void): Backlog {
    const backlog = sampleBacklog();
    change(backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0]! as Record<string, unknown>);
    return backlog;
  }

  it('rejects an unknown status with the allowed values', () => {
    const [issue, ...rest] = schemaIssues(withSubtask((s) => (s.status = 'Done')));
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({
      code: 'INVALID_VALUE',
      severity: 'error',
      path: [...at, 'status'],
      itemId: 'P1.M1.T1.S1',
    });
    expect(issue!.message).toContain('Planned, Researching, Implementing');
    expect(issue!.message).toContain('"Done"');
  });

  it.each([0, -1])('rejects story_points of %d', (points) => {
    const issues = schemaIssues(withSubtask((s) => (s.story_points = points)));
    expect(issues).toMatchObject([{ code: 'OUT_OF_RANGE', path: [...at, 'story_points'] }]);
  });

  it('names missing fields', () => {
    const issues = schemaIssues(
      withSubtask((s) => {
        delete s.title;
        delete s.context_scope;
      }),
    );
    expect(issues).toMatchObject([
      { code: 'MISSING_FIELD', path: [...at, 'title'], itemId: 'P1.M1.T1.S1' },
      { code: 'MISSING_FIELD', path: [...at, 'context_scope'] },
    ]);
    expect(issues[0]!.message).toBe('P1.M1.T1.S1 is missing the required field "title" (a string)');
  });

  it('reports wrong types, wrong item types and every problem at once', () => {
    const backlog = withSubtask((s) => {
      s.dependencies = 'P1.M1';
      s.type = 'Task';
    }) as unknown as { backlog: Record<string, unknown>[]; currentItemId: unknown };
    backlog.currentItemId = 7;
    (backlog.backlog[0]!.milestones as Record<string, unknown>[])[1]!.status = 'Finished';
    const issues = schemaIssues(backlog);
    expect(issues.map((issue) => [issue.code, issue.path])).toEqual([
      ['INVALID_VALUE', [...at, 'type']],
      ['INVALID_TYPE', [...at, 'dependencies']],
      ['INVALID_VALUE', ['backlog', 0, 'milestones', 1, 'status']],
      ['INVALID_TYPE', ['currentItemId']],
    ]);
    expect(issues[0]!.message).toBe('"type" of P1.M1.T1.S1 must be "Subtask", got "Task"');
    expect(issues[3]!.message).toContain('a string or null');
  });

  it('rejects a document that is not a backlog object', () => {
    expect(schemaIssues([])).toMatchObject([{ code: 'INVALID_TYPE', path: [] }]);
    expect(schemaIssues({ phases: [] })).toMatchObject([
      { code: 'MISSING_FIELD', path: ['backlog'] },
    ]);
    expect(schemaIssues({ backlog: ['P1'] })).toMatchObject([
      { code: 'INVALID_TYPE', path: ['backlog', 0] },
    ]);
  });
});

describe('GRAPH and warnings', () => {
  it('fails on graph errors and lists warnings too', () => {
    const backlog = backlogOf(
      phase('P1', [
        milestone('P1.M1', [
          task('P1.M1.T1', [
            subtask('P1.M1.T1.S1', ['P1.M1.T1.S9'], 'Implementing'),
            subtask('P1.M1.T1.S1'),
          ]),
        ]),
      ]),
    );
    const error = errorOf(() => parseBacklog(JSON.stringify(backlog), { source: 'a/tasks.json' }));
    expect(error.code).toBe('GRAPH');
    expect(error.issues.map((issue) => issue.code)).toEqual([
      'UNKNOWN_DEPENDENCY',
      'DUPLICATE_ID',
      'IN_FLIGHT_STATUS',
    ]);
    expect(error.message).toMatch(/^a\/tasks\.json: broken ids or dependencies \(2 errors\): /);
    expect(error.message).toContain(
      'backlog[0].milestones[0].tasks[0].subtasks[0].dependencies[0]',
    );
  });

  it('lets warnings through: safeParseBacklog returns them', () => {
    const backlog = backlogOf(
      phase('P1', [
        milestone('P1.M1', [task('P1.M1.T1', [subtask('P1.M1.T1.S1', [], 'Retrying')])]),
      ]),
    );
    const result = safeParseBacklog(JSON.stringify(backlog));
    expect(result.success).toBe(true);
    if (!result.success) return;
    expect(result.data).toEqual(backlog);
    expect(result.warnings).toMatchObject([{ code: 'IN_FLIGHT_STATUS', itemId: 'P1.M1.T1.S1' }]);
    expect(() => parseBacklog(backlog)).not.toThrow();
  });

  it('returns failures from safeParseBacklog instead of throwing', () => {
    const result = safeParseBacklog('{');
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error).toBeInstanceOf(BacklogError);
    expect(result.error.code).toBe('INVALID_JSON');
  });

  it('quotes at most three errors in the message and counts the rest', () => {
    const subtasks = [1, 2, 3, 4, 5].map((n) => subtask(`P1.M1.T1.S${n}`, [`P7.M1.T1.S${n}`]));
    const error = errorOf(() =>
      parseBacklog(backlogOf(phase('P1', [milestone('P1.M1', [task('P1.M1.T1', subtasks)])]))),
    );
    expect(error.issues).toHaveLength(5);
    expect(error.message).toContain('(5 errors)');
    expect(error.message).toContain('and 2 more');
    expect(error.message.split('P7.M1.T1.S').length - 1).toBe(3);
  });
});

describe('misuse', () => {
  it('throws TypeError for bad options and non-backlogs to serialize', () => {
    expect(() => parseBacklog('{}', 'file.json' as never)).toThrow(TypeError);
    expect(() => parseBacklog('{}', { source: 3 as never })).toThrow(/source must be/);
    expect(() => serializeBacklog(null as never)).toThrow(TypeError);
    expect(() => serializeBacklog({ phases: [] } as never)).toThrow(/"backlog" array/);
  });
});

describe('serializeBacklog', () => {
  it('writes 2-space JSON with a final newline, so a status change is a one-line diff', () => {
    const backlog = sampleBacklog();
    const before = serializeBacklog(backlog);
    expect(before.endsWith('}\n')).toBe(true);
    expect(before.split('\n')[1]).toBe('  "backlog": [');
    backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[1]!.status = 'Complete';
    const after = serializeBacklog(backlog);
    const a = before.split('\n');
    const b = after.split('\n');
    expect(a.length).toBe(b.length);
    expect(a.filter((line, k) => line !== b[k])).toEqual([
      '                  "status": "Planned",',
    ]);
  });
});
