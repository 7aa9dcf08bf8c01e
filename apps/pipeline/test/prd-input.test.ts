import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.ts';

// A PRD the built-in decomposer cannot plan is an input error: exit 2, one message naming the
// file and the problem, and nothing written.

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
});

describe('savepoint run with a PRD that has no plan in it', () => {
  it.each([
    ['empty', '', 'is empty'],
    ['blank', '\n   \n\t\n', 'is blank'],
    [
      'binary',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
      'is not a text file',
    ],
    ['heading-less', 'Build the thing.\n\n- step one\n- step two\n', 'has no markdown heading'],
    ['non-work only', '# Title\n\n## Non-goals\n\n- world peace\n', 'has no work to plan'],
  ])(
    'exits 2 for a %s PRD, naming the file, and writes nothing',
    async (_kind, content, problem) => {
      const temp = tempDir();
      cleanups.push(temp.cleanup);
      const prd = join(temp.dir, 'prd.md');
      const plan = join(temp.dir, 'plan');
      writeFileSync(prd, content);
      const result = await runCli(['run', prd, '--plan-dir', plan, '--exec', 'true'], temp.dir);
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(prd);
      expect(lines[0]).toContain(problem);
      expect(existsSync(plan)).toBe(false);
    },
  );
});
