import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineAndColumn, locateJsonError } from './json-position.ts';

describe('locateJsonError', () => {
  it('agrees with JSON.parse on which texts are valid', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.nat(),
        fc.constantFrom('', ',', '}', ']', '"', ':', 'x', '\\', '\n', '-', '0', '.', 'e'),
        fc.boolean(),
        (value, cut, insert, truncate) => {
          const text = JSON.stringify(value, null, cut % 3);
          const at = cut % (text.length + 1);
          const mangled = truncate
            ? text.slice(0, at)
            : text.slice(0, at) + insert + text.slice(at);
          let valid = true;
          try {
            JSON.parse(mangled);
          } catch {
            valid = false;
          }
          const found = locateJsonError(mangled);
          expect(found === undefined).toBe(valid);
          if (found !== undefined) {
            expect(found.offset).toBeGreaterThanOrEqual(0);
            expect(found.offset).toBeLessThanOrEqual(mangled.length);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('points at the first character that cannot continue the text', () => {
    expect(locateJsonError('[1, 2, ]')).toMatchObject({ offset: 7 });
    expect(locateJsonError('{"a": [true, fals]}')?.offset).toBe(13);
  });
});

describe('lineAndColumn', () => {
  it('counts from 1 and starts a line after each newline', () => {
    expect(lineAndColumn('abc', 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn('a\nbc', 3)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn('a\r\nb', 3)).toEqual({ line: 2, column: 1 });
  });
});
