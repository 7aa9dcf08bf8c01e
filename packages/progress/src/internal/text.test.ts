import { describe, expect, it } from 'vitest';
import { sanitize, stripAnsi, textWidth, truncate } from './text.ts';

describe('text helpers', () => {
  it('measures columns, not code units', () => {
    expect(textWidth('abc')).toBe(3);
    expect(textWidth('日本語')).toBe(6);
    expect(textWidth('🚀 go')).toBe(5);
    expect(textWidth('e\u0301')).toBe(1);
    expect(textWidth('\u001b[31mred\u001b[39m')).toBe(3);
    expect(textWidth('👩‍💻')).toBe(2);
  });

  it('truncates to a width without splitting a character', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('日本語です', 5)).toBe('日本…');
    expect(textWidth(truncate('日本語です', 6))).toBeLessThanOrEqual(6);
    expect(truncate('👩‍💻👩‍💻', 3)).toBe('👩‍💻…');
    expect(truncate('abc', 0)).toBe('');
  });

  it('neutralises control characters and escape sequences', () => {
    const dirty = 'a\tb\nc\r\u001b[2Jd\u0007e\u009bf\u202eg';
    const clean = sanitize(dirty);
    expect(clean).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(clean).toBe('a b c  [2Jd e f g');
    expect(stripAnsi('\u001b[1;32mok\u001b[0m \u001b]0;title\u0007x')).toBe('ok x');
  });
});
