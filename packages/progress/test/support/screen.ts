/**
 * A minimal terminal: enough of VT100 to replay what a renderer wrote and see the screen it
 * leaves. Unknown escape sequences throw, so a renderer cannot pass by emitting something this
 * model does not understand.
 */
export interface Screen {
  /** Screen rows, trailing spaces trimmed. */
  lines: string[];
  /** Columns each row occupies, trailing spaces included. */
  widths: number[];
  /** Whether any text ran past the last column and wrapped. */
  wrapped: boolean;
  /** Cursor visibility at the end (DECTCEM). */
  cursorVisible: boolean;
  /** How often the cursor was hidden and shown. */
  hides: number;
  shows: number;
  /** Whether any SGR (colour) sequence was seen. */
  sawColor: boolean;
}

/**
 * Replays `output` on a `columns`-wide screen. `onlcr` mirrors the terminal driver's default
 * output processing, which turns each `\n` a program writes into `\r\n`.
 */
export function replay(output: string, columns: number, { onlcr = true } = {}): Screen {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const screen: Screen = {
    lines: [],
    widths: [],
    wrapped: false,
    cursorVisible: true,
    hides: 0,
    shows: 0,
    sawColor: false,
  };
  const line = () => {
    while (rows.length <= row) rows.push([]);
    return rows[row]!;
  };
  const segments = new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(output);
  const chars = [...segments].map((entry) => entry.segment);
  for (let i = 0; i < chars.length; i += 1) {
    const ch = chars[i]!;
    if (ch === '\u001b') {
      if (chars[i + 1] !== '[')
        throw new Error(
          `unsupported escape at ${i}: ${JSON.stringify(chars.slice(i, i + 6).join(''))}`,
        );
      let j = i + 2;
      let params = '';
      while (j < chars.length && /^[0-9;?]$/.test(chars[j]!)) params += chars[j++];
      const final = chars[j];
      i = j;
      if (final === 'm') screen.sawColor = true;
      else if (final === 'K') {
        const cells = line();
        const at = Math.min(col, columns);
        if (params === '' || params === '0') cells.length = Math.min(cells.length, at);
        else if (params === '1')
          for (let k = 0; k <= Math.min(at, cells.length - 1); k += 1) cells[k] = ' ';
        else if (params === '2') cells.length = 0;
        else throw new Error(`unsupported erase ${params}`);
      } else if (final === 'l' && params === '?25') {
        screen.cursorVisible = false;
        screen.hides += 1;
      } else if (final === 'h' && params === '?25') {
        screen.cursorVisible = true;
        screen.shows += 1;
      } else throw new Error(`unsupported sequence ESC[${params}${final}`);
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n' || ch === '\r\n') {
      row += 1;
      if (ch === '\r\n' || onlcr) col = 0;
      line();
    } else if (/^[\u0000-\u001f\u007f]$/.test(ch)) {
      throw new Error(`unexpected control character ${JSON.stringify(ch)}`);
    } else {
      const width = cellWidth(ch);
      if (col + width > columns) {
        screen.wrapped = true;
        row += 1;
        col = 0;
      }
      const cells = line();
      while (cells.length < col) cells.push(' ');
      cells[col] = ch;
      if (width === 2) cells[col + 1] = '';
      col += width;
    }
  }
  screen.lines = rows.map((cells) => cells.join('').trimEnd());
  screen.widths = rows.map((cells) => cells.length);
  return screen;
}

/** The last row with text on it: what a person sees where the bar was. */
export function lastLine(screen: Screen): string {
  for (let i = screen.lines.length - 1; i >= 0; i -= 1) {
    if (screen.lines[i] !== '') return screen.lines[i]!;
  }
  return '';
}

function cellWidth(grapheme: string): number {
  if (/^\p{M}+$/u.test(grapheme)) return 0;
  if (
    /\p{Emoji_Presentation}|[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60\uffe0-\uffe6]/u.test(
      grapheme,
    )
  ) {
    return 2;
  }
  return 1;
}
