import type { ProgressError } from './errors.ts';
import { describeValue } from './internal/describe.ts';
import { checkBaseOptions, createOutput, messageLines } from './internal/output.ts';
import { createPlainRenderer, type PlainRendererOptions } from './plain.ts';
import { createTerminalRenderer, type TerminalRendererOptions } from './terminal.ts';
import type { ProgressSource } from './tracker.ts';

/**
 * What a renderer writes to: `process.stdout`, `process.stderr`, a `tty.WriteStream`, or any
 * object with `write`. `isTTY`, `columns` and `hasColors` are read on every frame when present.
 */
export interface RenderStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
  hasColors?(env?: object): boolean;
}

/** Environment variables as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The handle every renderer returns. No renderer installs signal or exit listeners. */
export interface Renderer {
  /** Which renderer this is; `none` draws nothing. */
  readonly kind: 'terminal' | 'plain' | 'json' | 'none';
  /**
   * Draws the current state now if it changed and the rate limit allows; `force` skips both
   * checks. Does nothing after {@link Renderer.stop}.
   */
  render(force?: boolean): void;
  /**
   * Writes a message on its own line(s) without tearing the display: the terminal renderer
   * clears its bar, writes the message and redraws the bar. Control characters in the message
   * are replaced with spaces.
   */
  log(message: string): void;
  /**
   * Writes the final state, stops the timer and unsubscribes. The terminal renderer ends its
   * line and shows the cursor again, so call this before the process exits, including from your
   * own signal handling. Calling it again does nothing.
   */
  stop(): void;
}

/** Options every renderer takes. */
export interface RendererBaseOptions {
  /** Where to write. */
  stream: RenderStream;
  /** What to show: a `ProgressTracker` or another {@link ProgressSource}. */
  tracker: ProgressSource;
  /**
   * Called when `stream.write` throws. The renderer has stopped by then; the run goes on. Without
   * it, failures while drawing from a timer or an event are dropped, and failures inside a
   * direct call (`render`, `log`, `stop`) throw the {@link ProgressError}.
   */
  onError?: (error: ProgressError) => void;
  /** Milliseconds clock for rate limiting. @default Date.now */
  clock?: () => number;
}

/** When to draw a live bar, as in a `--progress=auto|always|never` flag. */
export type RenderMode = 'auto' | 'always' | 'never';

/** Options for {@link createRenderer}: the union of the terminal and plain renderers' options. */
export interface CreateRendererOptions
  extends RendererBaseOptions,
    Omit<TerminalRendererOptions, keyof RendererBaseOptions>,
    Omit<PlainRendererOptions, keyof RendererBaseOptions> {
  /**
   * `auto` draws a terminal bar when {@link detectRendererKind} says `terminal` and plain lines
   * otherwise; `always` draws the terminal bar regardless; `never` draws nothing at all (its
   * `stop` writes nothing either: print {@link summaryLine} yourself if you want one), though
   * `log` still writes messages.
   * @default 'auto'
   */
  mode?: RenderMode;
  /** Environment used for detection and colour. @default process.env */
  env?: Env;
}

/**
 * Whether a live bar suits `stream`: `terminal` when it is a TTY, `CI` is not set (or is `0` or
 * `false`) and `TERM` is not `dumb`; `plain` otherwise.
 */
export function detectRendererKind(
  stream: RenderStream,
  env: Env = process.env,
): 'terminal' | 'plain' {
  const ci = env.CI;
  const isCi = ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
  return stream.isTTY === true && !isCi && env.TERM !== 'dumb' ? 'terminal' : 'plain';
}

/**
 * Picks and creates the renderer that suits the stream (see {@link CreateRendererOptions.mode}).
 *
 * @example
 * ```ts
 * const renderer = createRenderer({ stream: process.stderr, tracker });
 * try {
 *   await runEverything(tracker);
 * } finally {
 *   renderer.stop();
 * }
 * ```
 */
export function createRenderer(options: CreateRendererOptions): Renderer {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `createRenderer: expected an options object, got ${describeValue(options)}`,
    );
  }
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'always' && mode !== 'never') {
    throw new TypeError(
      `createRenderer: expected mode auto, always or never, got ${describeValue(mode)}`,
    );
  }
  checkBaseOptions('createRenderer', options);
  if (mode === 'never') return createSilentRenderer(options);
  const kind = mode === 'always' ? 'terminal' : detectRendererKind(options.stream, options.env);
  return kind === 'terminal' ? createTerminalRenderer(options) : createPlainRenderer(options);
}

function createSilentRenderer(options: RendererBaseOptions): Renderer {
  const output = createOutput(options.stream, 'none', options.onError, () => {});
  return {
    kind: 'none',
    render() {},
    log(message) {
      output.write(messageLines(message), true);
    },
    stop() {},
  };
}
