import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatSessionName, hashPrd, isArtifactName, parseSessionName } from './index.ts';

describe('hashPrd', () => {
  it('is the first 12 hex digits of the SHA-256 of the bytes, for text and bytes alike', () => {
    expect(hashPrd('')).toBe('e3b0c44298fc');
    const text = '# PRD\n\nCaf\u00e9 \u{1F680}\n';
    const full = createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
    expect(hashPrd(text)).toBe(full.slice(0, 12));
    expect(hashPrd(new TextEncoder().encode(text))).toBe(full.slice(0, 12));
    expect(hashPrd(Buffer.from(text))).toBe(full.slice(0, 12));
    expect(hashPrd('a')).not.toBe(hashPrd('a\n'));
  });

  it('rejects other values with TypeError', () => {
    expect(() => hashPrd(42 as never)).toThrow(TypeError);
    expect(() => hashPrd(null as never)).toThrow(/string or Uint8Array, got null/);
  });
});

describe('session names', () => {
  it('parses and formats <NNN>_<hash12>', () => {
    expect(parseSessionName('001_14b9dc2a33c7')).toEqual({
      id: '001_14b9dc2a33c7',
      sequence: 1,
      hash: '14b9dc2a33c7',
    });
    expect(parseSessionName('1234_14b9dc2a33c7')?.sequence).toBe(1234);
    for (const bad of [
      '01_14b9dc2a33c7',
      '001_14B9DC2A33C7',
      '001_14b9dc2a33c',
      '000_14b9dc2a33c7',
      '.tmp-1-ab',
      '001_14b9dc2a33c7__bugfix__001_7f5a0fab4834',
    ]) {
      expect(parseSessionName(bad)).toBeUndefined();
    }
    expect(formatSessionName(7, '14b9dc2a33c7')).toBe('007_14b9dc2a33c7');
    expect(formatSessionName(1000, '14b9dc2a33c7')).toBe('1000_14b9dc2a33c7');
    expect(() => formatSessionName(0, '14b9dc2a33c7')).toThrow(TypeError);
    expect(() => formatSessionName(1, 'xyz')).toThrow(TypeError);
  });

  it('accepts plain artifact names only', () => {
    for (const good of ['ERROR_REPORT.md', 'TEST_RESULTS.md', 'notes-1.txt', 'a']) {
      expect(isArtifactName(good)).toBe(true);
    }
    for (const bad of [
      '',
      '.env',
      '../x',
      'a/b',
      'a\\b',
      'tasks.json',
      'prd_snapshot.md',
      'parent_session.txt',
      'x'.repeat(129),
    ]) {
      expect(isArtifactName(bad)).toBe(false);
    }
  });
});
