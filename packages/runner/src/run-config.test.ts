import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeRunConfig, readRunConfig, writeRunConfig } from './run-config.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe('mergeRunConfig', () => {
  it('lays the values given over the stored ones and keeps what was not given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-config-'));
    dirs.push(dir);
    await writeRunConfig(dir, { exec: 'make item', retries: 2, scope: 'P1' });
    const stored = await readRunConfig(dir);
    const merged = mergeRunConfig(stored, {
      exec: undefined,
      retries: 0,
      concurrency: 4,
      scope: undefined,
    });
    expect(merged).toEqual({ exec: 'make item', retries: 0, scope: 'P1', concurrency: 4 });
    expect(Object.keys(merged)).not.toContain('timeoutMs');
    // The stored configuration is left as it was.
    expect(stored).toEqual({ exec: 'make item', retries: 2, scope: 'P1' });
  });

  it('returns the stored configuration when nothing is given', () => {
    expect(mergeRunConfig({ exec: 'true' }, {})).toEqual({ exec: 'true' });
    expect(mergeRunConfig({}, { exec: 'x', timeoutMs: 10 })).toEqual({ exec: 'x', timeoutMs: 10 });
  });
});
