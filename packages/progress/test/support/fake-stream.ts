/** A writable that records what a renderer writes and when, shaped like a TTY or a pipe. */
export class FakeStream {
  readonly writes: { at: number; data: string }[] = [];
  isTTY: boolean;
  columns: number | undefined;
  readonly hasColors: ((env?: object) => boolean) | undefined;

  constructor(options: { isTTY?: boolean; columns?: number; colors?: boolean } = {}) {
    this.isTTY = options.isTTY ?? false;
    this.columns = options.columns;
    const colors = options.colors;
    this.hasColors = colors === undefined ? undefined : () => colors;
  }

  write(chunk: string): boolean {
    this.writes.push({ at: Date.now(), data: chunk });
    return true;
  }

  get output(): string {
    return this.writes.map((entry) => entry.data).join('');
  }
}

/** Control characters other than tab and newline, DEL, and ESC (which the first range covers). */
export const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;
/** C1 controls: single-byte CSI and friends that some terminals still honour. */
export const C1 = /[\x80-\x9f]/;
export const ESC = /\x1b/;
export const SGR = /\x1b\[[0-9;]*m/;
