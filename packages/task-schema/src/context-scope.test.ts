import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOOD_SCOPE, REAL_BACKLOGS, sampleBacklog } from '../test/helpers.ts';
import { lintContextScope, parseBacklog } from './index.ts';

describe('lintContextScope', () => {
  it('accepts the four-section contract, headings indented or not', () => {
    expect(lintContextScope(GOOD_SCOPE)).toEqual([]);
    expect(lintContextScope(`  ${GOOD_SCOPE.replace('\n3.', '\n   3.')}`)).toEqual([]);
    expect(lintContextScope(sampleBacklog())).toEqual([]);
  });

  it('reports missing sections, including headings not at the start of a line', () => {
    const text = 'CONTRACT DEFINITION: 1. RESEARCH NOTE: x\n2. INPUT: y\n4. OUTPUT: z';
    expect(lintContextScope(text)).toEqual([
      {
        code: 'CONTEXT_SCOPE_MISSING_SECTION',
        severity: 'warning',
        path: [],
        message:
          'context_scope lacks "1. RESEARCH NOTE:", "3. LOGIC:"; each section heading must start a line',
      },
    ]);
  });

  it('reports sections out of order', () => {
    const swapped =
      'CONTRACT DEFINITION:\n2. INPUT: a\n1. RESEARCH NOTE: b\n3. LOGIC: c\n4. OUTPUT: d';
    expect(lintContextScope(swapped)).toMatchObject([{ code: 'CONTEXT_SCOPE_SECTION_ORDER' }]);
    const late =
      'CONTRACT DEFINITION:\n1. RESEARCH NOTE: a\n2. INPUT: b\n4. OUTPUT: d\n3. LOGIC: c';
    expect(lintContextScope(late)[0]!.message).toContain('has "4. OUTPUT:" before "3. LOGIC:"');
  });

  it('reports empty numbered sections with the subtask path, as errors on request', () => {
    const backlog = sampleBacklog();
    backlog.backlog[0]!.milestones[1]!.tasks[0]!.subtasks[0]!.context_scope =
      'CONTRACT DEFINITION:\n1. RESEARCH NOTE:\n2. INPUT: x\n3. LOGIC:   \n4. OUTPUT: y';
    const issues = lintContextScope(backlog, { severity: 'error' });
    const at = ['backlog', 0, 'milestones', 1, 'tasks', 0, 'subtasks', 0, 'context_scope'];
    expect(issues).toEqual([
      {
        code: 'CONTEXT_SCOPE_EMPTY_SECTION',
        severity: 'error',
        path: at,
        itemId: 'P1.M2.T1.S1',
        message: 'context_scope of P1.M2.T1.S1 has an empty "1. RESEARCH NOTE:" section',
      },
      expect.objectContaining({
        code: 'CONTEXT_SCOPE_EMPTY_SECTION',
        message: expect.stringContaining('3. LOGIC:'),
      }),
    ]);
  });

  it('never affects parsing', () => {
    const backlog = sampleBacklog();
    backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0]!.context_scope = 'free text';
    expect(parseBacklog(JSON.stringify(backlog))).toEqual(backlog);
    expect(lintContextScope(backlog)).toHaveLength(1);
  });

  it('rejects wrong arguments', () => {
    expect(() => lintContextScope(42 as never)).toThrow(TypeError);
    expect(() => lintContextScope('', { severity: 'fatal' as never })).toThrow(TypeError);
  });

  it.skipIf(!existsSync(REAL_BACKLOGS))('finds the real backlogs follow the contract', () => {
    for (const name of readdirSync(REAL_BACKLOGS).filter((n) => n.endsWith('.tasks.json'))) {
      const backlog = parseBacklog(readFileSync(path.join(REAL_BACKLOGS, name), 'utf8'));
      expect(lintContextScope(backlog)).toEqual([]);
    }
  });
});
