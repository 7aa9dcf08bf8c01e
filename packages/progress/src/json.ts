import { describeValue } from './internal/describe.ts';
import { checkBaseOptions, createOutput } from './internal/output.ts';
import type { Renderer, RendererBaseOptions } from './renderer.ts';
import type { CurrentItem, GroupProgress, Progress } from './tracker.ts';

/**
 * A JSON-ready snapshot: the fields of {@link Progress} with a fixed shape (`current` is `null`
 * and `groups` is `[]` when absent) and millisecond values rounded to whole milliseconds.
 */
export interface ProgressSnapshot extends Omit<Progress, 'current' | 'groups'> {
  current: CurrentItem | null;
  groups: GroupProgress[];
}

/**
 * Turns a {@link Progress} into a {@link ProgressSnapshot} for `JSON.stringify`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${JSON.stringify(toJSON(tracker.getProgress()))}\n`);
 * ```
 */
export function toJSON(progress: Progress): ProgressSnapshot {
  if (typeof progress !== 'object' || progress === null) {
    throw new TypeError(`toJSON: expected a progress object, got ${describeValue(progress)}`);
  }
  const current = progress.current;
  return {
    total: progress.total,
    completed: progress.completed,
    failed: progress.failed,
    skipped: progress.skipped,
    active: progress.active,
    remaining: progress.remaining,
    percentage: progress.percentage,
    elapsedMs: Math.round(progress.elapsedMs),
    samples: progress.samples,
    msPerItem: progress.msPerItem === null ? null : Math.round(progress.msPerItem),
    ratePerMinute: progress.ratePerMinute,
    etaMs: progress.etaMs === null ? null : Math.round(progress.etaMs),
    current:
      current === undefined
        ? null
        : current.title === undefined
          ? { id: current.id }
          : { id: current.id, title: current.title },
    groups: (progress.groups ?? []).map((group) => ({ ...group })),
  };
}

/**
 * Writes one {@link ProgressSnapshot} per line (NDJSON): one when created, one after every change
 * the tracker announces, one for each `render()`, and a last one on `stop()`. Strings are
 * JSON-escaped, so a line never holds a raw control character. `log()` messages are written as
 * `{"message": "..."}` lines so the stream stays parseable.
 */
export function createJsonRenderer(options: RendererBaseOptions): Renderer {
  checkBaseOptions('createJsonRenderer', options);
  const { stream, tracker } = options;
  let isStopped = false;
  const halt = () => {
    isStopped = true;
    unsubscribe();
  };
  const output = createOutput(stream, 'json', options.onError, halt);
  const snapshot = (direct: boolean) => {
    if (isStopped) return;
    output.write(`${JSON.stringify(toJSON(tracker.getProgress()))}\n`, direct);
  };
  const unsubscribe = tracker.on('progress', () => snapshot(false));
  snapshot(true);
  return {
    kind: 'json',
    render() {
      snapshot(true);
    },
    log(message) {
      output.write(`${JSON.stringify({ message: String(message) })}\n`, true);
    },
    stop() {
      if (isStopped) return;
      snapshot(true);
      halt();
    },
  };
}
