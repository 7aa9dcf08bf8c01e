import { ProgressError } from '../errors.ts';
import type { RendererBaseOptions, RenderStream } from '../renderer.ts';
import { describeValue } from './describe.ts';
import { sanitize } from './text.ts';

/** A guarded writer shared by the renderers: the first failing write breaks it for good. */
export interface Output {
  readonly isBroken: boolean;
  /** Writes `chunk`; `direct` says whether a caller's own call is on the stack. */
  write(chunk: string, direct: boolean): boolean;
}

/**
 * Wraps `stream.write`. A display must never take the run down, so a failure from a timer or an
 * event goes to `onError` or nowhere; only a caller's own call may throw it.
 */
export function createOutput(
  stream: RenderStream,
  kind: string,
  onError: ((error: ProgressError) => void) | undefined,
  onBroken: () => void,
): Output {
  let isBroken = false;
  return {
    get isBroken() {
      return isBroken;
    },
    write(chunk, direct) {
      if (isBroken) return false;
      try {
        stream.write(chunk);
        return true;
      } catch (cause) {
        isBroken = true;
        onBroken();
        const reason = cause instanceof Error ? cause.message : String(cause);
        const error = new ProgressError(
          'WRITE_FAILED',
          `${kind} renderer could not write: ${reason}`,
          {
            source: kind,
            cause,
          },
        );
        if (onError !== undefined) onError(error);
        else if (direct) throw error;
        return false;
      }
    },
  };
}

/** Makes a caller's message safe to print as whole lines. */
export function messageLines(message: unknown): string {
  return `${String(message).split(/\r?\n/).map(sanitize).join('\n')}\n`;
}

/** Validates the options every renderer shares. */
export function checkBaseOptions(name: string, options: RendererBaseOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${name}: expected an options object, got ${describeValue(options)}`);
  }
  if (typeof options.stream?.write !== 'function') {
    throw new TypeError(
      `${name}: expected stream to have a write method, got ${describeValue(options.stream)}`,
    );
  }
  const tracker = options.tracker;
  if (typeof tracker?.getProgress !== 'function' || typeof tracker.on !== 'function') {
    throw new TypeError(
      `${name}: expected tracker to have getProgress and on methods, got ${describeValue(tracker)}`,
    );
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new TypeError(
      `${name}: expected onError to be a function, got ${describeValue(options.onError)}`,
    );
  }
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new TypeError(
      `${name}: expected clock to be a function, got ${describeValue(options.clock)}`,
    );
  }
}
