/**
 * Finds the first syntax error of a text that `JSON.parse` rejected. The engine's messages differ
 * between Node versions and some carry no position at all, so the grammar is checked here once
 * more, on the failure path only. `undefined` means no error was found.
 */
export function locateJsonError(text: string): { offset: number; problem: string } | undefined {
  const length = text.length;
  const stack: number[] = [];
  let i = skipSpace(text, 0);

  const fail = (at: number, expected: string) => ({
    offset: at,
    problem:
      at >= length
        ? `unexpected end of input, expected ${expected}`
        : `unexpected ${JSON.stringify(text[at])}, expected ${expected}`,
  });

  value: for (;;) {
    const char = text[i];
    if (char === '{') {
      i = skipSpace(text, i + 1);
      if (text[i] === '}') {
        i++;
      } else {
        stack.push(OBJECT);
        const after = member(text, i);
        if (after.error !== undefined) return fail(after.at, after.error);
        i = after.at;
        continue;
      }
    } else if (char === '[') {
      i = skipSpace(text, i + 1);
      if (text[i] === ']') {
        i++;
      } else {
        stack.push(ARRAY);
        continue;
      }
    } else if (char === '"') {
      const after = string(text, i);
      if (after.error !== undefined) return fail(after.at, after.error);
      i = after.at;
    } else if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
      const after = number(text, i);
      if (after.error !== undefined) return fail(after.at, after.error);
      i = after.at;
    } else if (text.startsWith('true', i)) {
      i += 4;
    } else if (text.startsWith('false', i)) {
      i += 5;
    } else if (text.startsWith('null', i)) {
      i += 4;
    } else {
      return fail(i, 'a value');
    }

    for (;;) {
      i = skipSpace(text, i);
      const top = stack.at(-1);
      if (top === undefined) {
        if (i >= length) return undefined;
        return fail(i, 'the end of the input');
      }
      const char = text[i];
      if (char === ',') {
        i = skipSpace(text, i + 1);
        if (top === OBJECT) {
          const after = member(text, i);
          if (after.error !== undefined) return fail(after.at, after.error);
          i = after.at;
        }
        continue value;
      }
      if ((top === ARRAY && char === ']') || (top === OBJECT && char === '}')) {
        stack.pop();
        i++;
        continue;
      }
      return fail(i, top === ARRAY ? "',' or ']'" : "',' or '}'");
    }
  }
}

/** 1-based line and column of an offset; a line ends at `\n`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

const OBJECT = 1;
const ARRAY = 2;

interface Scan {
  at: number;
  error?: string;
}

/** A key, its colon and the space up to the value. */
function member(text: string, i: number): Scan {
  if (text[i] !== '"') return { at: i, error: 'a double-quoted property name' };
  const key = string(text, i);
  if (key.error !== undefined) return key;
  const colon = skipSpace(text, key.at);
  if (text[colon] !== ':') return { at: colon, error: "':'" };
  return { at: skipSpace(text, colon + 1) };
}

function string(text: string, start: number): Scan {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return { at: i + 1 };
    if (code < 0x20) return { at: i, error: 'a character (control characters must be escaped)' };
    if (code === 0x5c) {
      const next = text[i + 1];
      if (next === 'u') {
        for (let k = 2; k <= 5; k++) {
          if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) return { at: i + k, error: 'a hex digit' };
        }
        i += 5;
      } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
        i++;
      } else {
        return { at: i + 1, error: 'a valid escape' };
      }
    }
  }
  return { at: text.length, error: "'\"'" };
}

function number(text: string, start: number): Scan {
  let i = start;
  if (text[i] === '-') i++;
  if (text[i] === '0') {
    i++;
  } else if (isDigit(text[i])) {
    while (isDigit(text[i])) i++;
  } else {
    return { at: i, error: 'a digit' };
  }
  if (text[i] === '.') {
    i++;
    if (!isDigit(text[i])) return { at: i, error: 'a digit' };
    while (isDigit(text[i])) i++;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    i++;
    if (text[i] === '+' || text[i] === '-') i++;
    if (!isDigit(text[i])) return { at: i, error: 'a digit' };
    while (isDigit(text[i])) i++;
  }
  return { at: i };
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '9';
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const char = text[i];
    if (char === ' ' || char === '\n' || char === '\r' || char === '\t') i++;
    else return i;
  }
}
