import { formatDuration, formatPercentage, formatRate } from './format.ts';
import { describeValue } from './internal/describe.ts';
import { checkBaseOptions, createOutput, messageLines } from './internal/output.ts';
import { sanitize, textWidth, truncate } from './internal/text.ts';
import { MAX_TIMER_MS } from './internal/timers.ts';
import type { Env, Renderer, RendererBaseOptions } from './renderer.ts';
import type { Progress } from './tracker.ts';

/** Options for {@link formatBar}. */
export interface BarFormatOptions {
  /** Most columns the line may take. @default 79 */
  width?: number;
  /** Wrap parts in ANSI colours. @default false */
  color?: boolean;
  /** Cells inside the brackets before the line has to shrink. @default 20 */
  barWidth?: number;
}

/**
 * Formats the one-line bar the terminal renderer draws:
 * `[#####-----] 42.0% 5/12 · 3 failed · 1.2/min · ETA 1m05s · P1.M2.T1.S3 title`.
 *
 * Zero failures, a zero rate, an unknown ETA (or none left, once nothing remains) and no current
 * item leave their part out. When the line is wider than `width` it
 * gives way in this order: the title is shortened with `…` and then dropped, then the item id,
 * the rate, cells of the bar (down to 5), the bar, the ETA and the failure count; a part that
 * fits again once a wider one is gone is taken back. Percentage and counts always stay (cut
 * with `…` only below about 12 columns). Control characters in ids and titles show as spaces.
 */
export function formatBar(progress: Progress, options: BarFormatOptions = {}): string {
  const max = positiveInteger('formatBar', 'width', options.width ?? 79);
  const barWidth = positiveInteger('formatBar', 'barWidth', options.barWidth ?? 20);
  const color = options.color === true;
  const parts = barParts(progress);
  const layout: Layout = {
    barWidth,
    hasBar: true,
    hasFailed: parts.failed !== undefined,
    hasRate: parts.rate !== undefined,
    hasEta: parts.eta !== undefined,
    hasId: parts.id !== undefined,
    title: parts.title,
  };
  const width = () => textWidth(compose(parts, layout, false));
  const minBar = Math.min(5, barWidth);
  const fitTitle = () => {
    if (parts.title === undefined || !layout.hasId) return;
    const room = max - textWidth(compose(parts, { ...layout, title: undefined }, false)) - 1;
    layout.title = room >= 3 ? truncate(parts.title, room) : undefined;
  };
  if (width() > max) fitTitle();
  // Give way, least important first, until the line fits.
  const steps: ((excess: number) => void)[] = [
    () => {
      layout.title = undefined;
    },
    () => {
      layout.hasId = false;
    },
    () => {
      layout.hasRate = false;
    },
    (excess) => {
      layout.barWidth = Math.max(minBar, layout.barWidth - excess);
    },
    () => {
      layout.hasBar = false;
    },
    () => {
      layout.hasEta = false;
    },
    () => {
      layout.hasFailed = false;
    },
  ];
  for (const step of steps) {
    const excess = width() - max;
    if (excess <= 0) break;
    step(excess);
  }
  if (width() > max) return truncate(compose(parts, layout, false), max);
  // Dropping a wide part may have freed room for a narrower, less important one: take it back,
  // most important first.
  const takeBack: (keyof Layout & `has${string}`)[] = [
    'hasFailed',
    'hasEta',
    'hasBar',
    'hasRate',
    'hasId',
  ];
  for (const key of takeBack) {
    if (layout[key] || !isAvailable(parts, key)) continue;
    layout[key] = true;
    if (key === 'hasBar') layout.barWidth = minBar;
    if (width() > max) layout[key] = false;
    else if (key === 'hasBar') layout.barWidth = Math.min(barWidth, minBar + max - width());
    else if (key === 'hasId') fitTitle();
  }
  return compose(parts, layout, color);
}

/** Options for {@link createTerminalRenderer}. */
export interface TerminalRendererOptions extends RendererBaseOptions {
  /** Most redraws per second; a redraw also needs the text to have changed. @default 10 */
  fps?: number;
  /** Terminal columns; the line takes at most one less. @default stream.columns, else 80 */
  width?: number;
  /**
   * Force colours on or off. By default colours are used when `NO_COLOR` is unset or empty and
   * the stream says it supports them (`hasColors(env)`, or `isTTY` when it cannot say).
   */
  color?: boolean;
  /** Environment for the colour decision. @default process.env */
  env?: Env;
  /** Cells inside the bar's brackets. @default 20 */
  barWidth?: number;
}

/**
 * Draws a single self-overwriting bar line (see {@link formatBar}) on a terminal.
 *
 * Each frame is `\r`, the line and clear-to-end-of-line, so nothing scrolls. Frames are drawn
 * on every tracker change and on a timer (so the ETA moves while idle), at most `fps` a second
 * and only when the text changed. The cursor is hidden while the bar is live; `stop()` writes
 * the final frame, a newline and shows the cursor again. The renderer adds no signal or exit
 * listeners (call `stop()` from your own shutdown path) and its timer is unref'd, so it never
 * keeps a process alive.
 *
 * @example
 * ```ts
 * const bar = createTerminalRenderer({ stream: process.stderr, tracker });
 * process.once('SIGINT', () => { bar.stop(); process.exit(130); });
 * ```
 */
export function createTerminalRenderer(options: TerminalRendererOptions): Renderer {
  checkBaseOptions('createTerminalRenderer', options);
  const fps = options.fps ?? 10;
  if (typeof fps !== 'number' || !Number.isFinite(fps) || fps <= 0) {
    throw new TypeError(
      `createTerminalRenderer: expected fps to be a number > 0, got ${describeValue(fps)}`,
    );
  }
  if (options.width !== undefined)
    positiveInteger('createTerminalRenderer', 'width', options.width);
  const barWidth = positiveInteger('createTerminalRenderer', 'barWidth', options.barWidth ?? 20);
  const { stream, tracker } = options;
  const clock = options.clock ?? Date.now;
  const color = useColor(options);
  const frameMs = 1000 / fps;
  let lastLine: string | undefined;
  let lastDrawAt = Number.NEGATIVE_INFINITY;
  let isStopped = false;

  const halt = () => {
    isStopped = true;
    clearInterval(timer);
    unsubscribe();
  };
  const output = createOutput(stream, 'terminal', options.onError, halt);
  const line = () => {
    const columns =
      options.width ??
      (Number.isInteger(stream.columns) && stream.columns! > 0 ? stream.columns! : 80);
    return formatBar(tracker.getProgress(), { width: Math.max(1, columns - 1), color, barWidth });
  };
  const draw = (force: boolean, direct: boolean, prefix = '') => {
    if (isStopped) return;
    const now = clock();
    if (!force && now - lastDrawAt < frameMs) return;
    const text = line();
    if (!force && text === lastLine) return;
    if (output.write(`${prefix}\r${text}${CLEAR_TO_END}`, direct)) {
      lastLine = text;
      lastDrawAt = now;
    }
  };

  const unsubscribe = tracker.on('progress', () => draw(false, false));
  const timer = setInterval(() => draw(false, false), Math.min(frameMs, MAX_TIMER_MS));
  timer.unref?.();
  draw(true, true, HIDE_CURSOR);

  return {
    kind: 'terminal',
    render(force = false) {
      draw(force, true);
    },
    log(message) {
      if (isStopped) {
        output.write(messageLines(message), true);
        return;
      }
      draw(true, true, `\r${CLEAR_TO_END}${messageLines(message)}`);
    },
    stop() {
      if (isStopped) return;
      halt();
      const text = line();
      const frame = text === lastLine ? '' : `\r${text}${CLEAR_TO_END}`;
      output.write(`${frame}\n${SHOW_CURSOR}`, true);
    },
  };
}

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
const CLEAR_TO_END = '\u001b[K';
const SGR = {
  green: ['\u001b[32m', '\u001b[39m'],
  red: ['\u001b[31m', '\u001b[39m'],
  cyan: ['\u001b[36m', '\u001b[39m'],
  dim: ['\u001b[2m', '\u001b[22m'],
} as const;

interface BarParts {
  filledRatio: number;
  percentage: string;
  counts: string;
  failed: string | undefined;
  rate: string | undefined;
  eta: string | undefined;
  id: string | undefined;
  title: string | undefined;
}

interface Layout {
  barWidth: number;
  hasBar: boolean;
  hasFailed: boolean;
  hasRate: boolean;
  hasEta: boolean;
  hasId: boolean;
  title: string | undefined;
}

function barParts(progress: Progress): BarParts {
  if (typeof progress !== 'object' || progress === null) {
    throw new TypeError(`formatBar: expected a progress object, got ${describeValue(progress)}`);
  }
  const total = progress.total;
  const ratio = total > 0 ? Math.min(1, Math.max(0, progress.completed / total)) : 1;
  // Once nothing remains there is no ETA to show, and no clock-driven text, so a finished bar
  // stops redrawing.
  const eta =
    progress.remaining > 0 && progress.etaMs !== null && Number.isFinite(progress.etaMs)
      ? `ETA ${formatDuration(progress.etaMs)}`
      : undefined;
  const title =
    progress.current?.title === undefined ? undefined : sanitize(progress.current.title).trim();
  return {
    filledRatio: ratio,
    percentage: formatPercentage(progress.percentage),
    counts: `${progress.completed}/${total}`,
    failed: progress.failed > 0 ? `${progress.failed} failed` : undefined,
    rate:
      progress.ratePerMinute > 0 && Number.isFinite(progress.ratePerMinute)
        ? formatRate(progress.ratePerMinute)
        : undefined,
    eta,
    id: progress.current === undefined ? undefined : sanitize(progress.current.id),
    title: title === '' ? undefined : title,
  };
}

function isAvailable(
  parts: BarParts,
  key: 'hasFailed' | 'hasEta' | 'hasBar' | 'hasRate' | 'hasId',
): boolean {
  if (key === 'hasFailed') return parts.failed !== undefined;
  if (key === 'hasEta') return parts.eta !== undefined;
  if (key === 'hasRate') return parts.rate !== undefined;
  if (key === 'hasId') return parts.id !== undefined;
  return true;
}

function compose(parts: BarParts, layout: Layout, color: boolean): string {
  const paint = (text: string, style: keyof typeof SGR) =>
    color && text !== '' ? `${SGR[style][0]}${text}${SGR[style][1]}` : text;
  const head: string[] = [];
  if (layout.hasBar) {
    const filled = Math.floor(parts.filledRatio * layout.barWidth);
    const bar =
      paint('#'.repeat(filled), 'green') + paint('-'.repeat(layout.barWidth - filled), 'dim');
    head.push(`[${bar}]`);
  }
  head.push(parts.percentage, parts.counts);
  const tail: string[] = [];
  if (layout.hasFailed && parts.failed !== undefined) tail.push(paint(parts.failed, 'red'));
  if (layout.hasRate && parts.rate !== undefined) tail.push(parts.rate);
  if (layout.hasEta && parts.eta !== undefined) tail.push(parts.eta);
  if (layout.hasId && parts.id !== undefined) {
    tail.push(
      layout.title === undefined
        ? paint(parts.id, 'cyan')
        : `${paint(parts.id, 'cyan')} ${layout.title}`,
    );
  }
  return [head.join(' '), ...tail].join(' · ');
}

function useColor(options: TerminalRendererOptions): boolean {
  if (options.color !== undefined) return options.color === true;
  const env = options.env ?? process.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const { stream } = options;
  if (typeof stream.hasColors === 'function') return stream.hasColors(env) === true;
  return stream.isTTY === true;
}

function positiveInteger(name: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(
      `${name}: expected ${field} to be an integer >= 1, got ${describeValue(value)}`,
    );
  }
  return value;
}
