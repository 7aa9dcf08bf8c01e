import { ProgressError } from '../errors.ts';
import type { RenderStream } from '../renderer.ts';
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
