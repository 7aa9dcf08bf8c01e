/**
 * Terminal text helpers: making untrusted text single-line and inert, and measuring and cutting
 * it by the columns it occupies rather than by UTF-16 units.
 */

/**
 * Replaces every control character (C0 including tab and newline, DEL, C1) and bidirectional
 * override with a space, so a title can neither move the cursor nor inject escape sequences.
 */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, ' ');
}

/** Removes ANSI escape sequences (CSI, OSC and two-byte ESC forms). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Columns `text` occupies in a terminal; escape sequences occupy none. */
export function textWidth(text: string): number {
  let width = 0;
  for (const { segment } of graphemes(stripAnsi(text))) width += graphemeWidth(segment);
  return width;
}

/**
 * Cuts plain `text` (no escape sequences) to at most `max` columns, ending with `ellipsis` when
 * something was cut. Never splits a grapheme.
 */
export function truncate(text: string, max: number, ellipsis = '…'): string {
  if (max <= 0) return '';
  if (textWidth(text) <= max) return text;
  const room = max - textWidth(ellipsis);
  if (room < 0) return '';
  let out = '';
  let width = 0;
  for (const { segment } of graphemes(text)) {
    const next = graphemeWidth(segment);
    if (width + next > room) break;
    out += segment;
    width += next;
  }
  return out + ellipsis;
}

// C0, DEL, C1, and the bidi embedding/override/isolate controls.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
const ZERO_WIDTH = /^(?:\p{M}|\p{Cf})+$/u;
const EMOJI = /\p{Emoji_Presentation}|\ufe0f/u;

let segmenter: Intl.Segmenter | undefined;

function graphemes(text: string): Iterable<{ segment: string }> {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return segmenter.segment(text);
}

function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0;
  if (EMOJI.test(grapheme)) return 2;
  const code = grapheme.codePointAt(0)!;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return 0;
  return isWide(code) ? 2 : 1;
}

/** East Asian Wide and Fullwidth blocks, the ones terminals draw two columns wide. */
function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0x303e) ||
    (code >= 0x3041 && code <= 0x33ff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0xa000 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}
