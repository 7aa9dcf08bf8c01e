import { EventEmitter } from 'node:events';
import type { ProcessLike } from '../../src/index.ts';

/**
 * A stand-in for `process` in unit tests: signals are emitted by hand and `exit` records the
 * code instead of ending the test worker.
 */
export class FakeProcess extends EventEmitter implements ProcessLike {
  exitCode: number | string | null | undefined;
  readonly exits: number[] = [];

  exit(code?: number): void {
    this.exits.push(code ?? 0);
  }
}

/** A logger that keeps every message, for assertions. */
export function memoryLogger() {
  const lines: Array<{ level: string; message: string; details?: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (message: string, details?: Record<string, unknown>): void => {
      lines.push(details === undefined ? { level, message } : { level, message, details });
    };
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}
