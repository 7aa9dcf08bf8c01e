/** Where and why a text is not JSON. */
export interface JsonSyntaxProblem {
  /** Offset (UTF-16 code units) of the first character that cannot be accepted. */
  offset: number;
  message: string;
}

/**
 * Finds the first JSON syntax error of a text that `JSON.parse` rejected. Engines word (and, for
 * some errors, omit) positions differently, so the location comes from this scanner instead of
 * the engine's message. It runs only after a failure, with an explicit stack so deep nesting
 * cannot overflow.
 *
 * @returns the problem, or `undefined` when the text is valid JSON.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  const n = text.length;
  const stack: number[] = [];
  let i = 0;
  let state: State = State.Value;

  const skipSpace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
  };
  const fail = (offset: number, message: string): JsonSyntaxProblem => ({ offset, message });
  const unexpected = (expected: string): JsonSyntaxProblem =>
    i >= n
      ? fail(n, `unexpected end of input, expected ${expected}`)
      : fail(i, `unexpected ${show(text[i]!)}, expected ${expected}`);

  for (;;) {
    skipSpace();
    if (state === State.Value) {
      if (i >= n) return unexpected('a value');
      const c = text[i]!;
      if (c === '{') {
        i++;
        skipSpace();
        if (text[i] === '}') {
          i++;
          state = State.After;
        } else {
          stack.push(OBJECT);
          state = State.Key;
        }
      } else if (c === '[') {
        i++;
        skipSpace();
        if (text[i] === ']') {
          i++;
          state = State.After;
        } else {
          stack.push(ARRAY);
        }
      } else if (c === '"') {
        const problem = scanString();
        if (problem) return problem;
        state = State.After;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        const problem = scanNumber();
        if (problem) return problem;
        state = State.After;
      } else {
        const word = c === 't' ? 'true' : c === 'f' ? 'false' : c === 'n' ? 'null' : undefined;
        if (word === undefined || !text.startsWith(word, i)) return unexpected('a value');
        i += word.length;
        state = State.After;
      }
    } else if (state === State.Key) {
      if (text[i] !== '"') return unexpected('a property name in double quotes');
      const problem = scanString();
      if (problem) return problem;
      skipSpace();
      if (text[i] !== ':') return unexpected("':' after the property name");
      i++;
      state = State.Value;
    } else {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        return i < n
          ? fail(i, `unexpected ${show(text[i]!)} after the end of the JSON value`)
          : undefined;
      }
      const close = top === OBJECT ? '}' : ']';
      if (text[i] === ',') {
        i++;
        state = top === OBJECT ? State.Key : State.Value;
      } else if (text[i] === close) {
        i++;
        stack.pop();
      } else {
        return unexpected(
          top === OBJECT
            ? "',' or '}' after a property value"
            : "',' or ']' after an array element",
        );
      }
    }
  }

  function scanString(): JsonSyntaxProblem | undefined {
    const start = i;
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20)
        return fail(i, 'control character in a string; write it as an escape such as \\n');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            return fail(i, 'invalid \\u escape; it needs four hex digits');
          }
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          return fail(i, `invalid escape ${show(`\\${e ?? ''}`)} in a string`);
        }
        continue;
      }
      i++;
    }
    return fail(start, 'unterminated string');
  }

  function scanNumber(): JsonSyntaxProblem | undefined {
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match || match[0] === '-') return fail(i, 'invalid number');
    i += match[0].length;
    const next = text[i];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) return fail(i, 'invalid number');
    return undefined;
  }
}

/** Converts an offset to a 1-based line and column. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Scanner states: a value is expected, a property name is expected, or a value just ended. */
const State = { Value: 0, Key: 1, After: 2 } as const;
type State = (typeof State)[keyof typeof State];

const OBJECT = 1;
const ARRAY = 2;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function show(text: string): string {
  return JSON.stringify(text);
}
