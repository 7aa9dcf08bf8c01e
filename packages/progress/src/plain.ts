import { formatDuration, formatPercentage, formatRate, summaryLine } from './format.ts';
import { describeValue } from './internal/describe.ts';
import { checkBaseOptions, createOutput, messageLines } from './internal/output.ts';
import { sanitize } from './internal/text.ts';
import { MAX_TIMER_MS } from './internal/timers.ts';
import type { Renderer, RendererBaseOptions } from './renderer.ts';
import type { ItemEvent, Progress } from './tracker.ts';

/** Options for {@link createPlainRenderer}. */
export interface PlainRendererOptions extends RendererBaseOptions {
  /** Least time between two status lines (completion and failure lines are never held back). @default 5000 */
  intervalMs?: number;
  /**
   * Whether `stop()` writes {@link summaryLine}; `false` for a caller that prints its own summary
   * (elsewhere, or once for several renderers). Messages given to `log()` are still written after
   * `stop()`.
   * @default true
   */
  summary?: boolean;
}

/**
 * Writes append-only lines for logs, pipes and CI, never a control character or escape
 * sequence (only the newline ending each line):
 *
 * ```text
 * [5/12 41.7%] running P1.M2.T1.S3 Parse the backlog (1 failed)
 * [6/12 50.0%] completed P1.M2.T1.S3 Parse the backlog (1 failed, 1.2/min, ETA 5m00s)
 * [6/12 50.0%] failed P1.M2.T1.S4 Write the index (2 failed, 1.2/min, ETA 4m10s)
 * Progress: 6/12 complete (50.0%), 2 failed, 4 remaining
 * ```
 *
 * A line is written at once for every completion and failure. A status line (`running`,
 * `waiting`, `done`) is written when the renderer starts and then, on an unref'd timer, at most
 * every `intervalMs` and only when the counts or the item in flight changed since the last line.
 * `stop()` writes {@link summaryLine} unless `summary` is `false`. No signal or exit listeners are
 * added.
 */
export function createPlainRenderer(options: PlainRendererOptions): Renderer {
  checkBaseOptions('createPlainRenderer', options);
  const intervalMs = options.intervalMs ?? 5000;
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new TypeError(
      `createPlainRenderer: expected intervalMs to be a number > 0, got ${describeValue(intervalMs)}`,
    );
  }
  if (options.summary !== undefined && typeof options.summary !== 'boolean') {
    throw new TypeError(
      `createPlainRenderer: expected summary to be a boolean, got ${describeValue(options.summary)}`,
    );
  }
  const { stream, tracker } = options;
  const clock = options.clock ?? Date.now;
  let lastKey: string | undefined;
  let lastLineAt = Number.NEGATIVE_INFINITY;
  let isStopped = false;

  const halt = () => {
    isStopped = true;
    clearInterval(timer);
    for (const unsubscribe of subscriptions) unsubscribe();
  };
  const output = createOutput(stream, 'plain', options.onError, halt);
  const writeLine = (progress: Progress, text: string, direct: boolean) => {
    if (isStopped) return;
    if (output.write(`${text}\n`, direct)) {
      lastKey = stateKey(progress);
      lastLineAt = clock();
    }
  };
  const status = (force: boolean, direct: boolean) => {
    if (isStopped) return;
    if (!force && clock() - lastLineAt < intervalMs) return;
    const progress = tracker.getProgress();
    if (!force && stateKey(progress) === lastKey) return;
    writeLine(progress, statusLine(progress), direct);
  };
  const onItem = (verb: string) => (event: ItemEvent) => {
    writeLine(event.progress, itemLine(event, verb), false);
  };

  const subscriptions = [
    tracker.on('complete', onItem('completed')),
    tracker.on('fail', onItem('failed')),
  ];
  const timer = setInterval(() => status(false, false), Math.min(intervalMs, MAX_TIMER_MS));
  timer.unref?.();
  status(true, true);

  return {
    kind: 'plain',
    render(force = false) {
      status(force, true);
    },
    log(message) {
      output.write(messageLines(message), true);
    },
    stop() {
      if (isStopped) return;
      halt();
      if (options.summary !== false) output.write(`${summaryLine(tracker.getProgress())}\n`, true);
    },
  };
}

/** What a status line reports apart from time-driven figures, to tell when it is worth a line. */
function stateKey(progress: Progress): string {
  return JSON.stringify([
    progress.total,
    progress.completed,
    progress.failed,
    progress.active,
    progress.current?.id ?? null,
  ]);
}

function statusLine(progress: Progress): string {
  let what: string;
  if (progress.current !== undefined) {
    what = `running ${describeItem(progress.current.id, progress.current.title)}`;
  } else {
    what = progress.remaining === 0 ? 'done' : 'waiting';
  }
  return `${prefix(progress)} ${what}${details(progress)}`;
}

function itemLine(event: ItemEvent, verb: string): string {
  return `${prefix(event.progress)} ${verb} ${describeItem(event.id, event.title)}${details(event.progress)}`;
}

function prefix(progress: Progress): string {
  return `[${progress.completed}/${progress.total} ${formatPercentage(progress.percentage)}]`;
}

function describeItem(id: string, title: string | undefined): string {
  const cleanTitle = title === undefined ? '' : sanitize(title).trim();
  return cleanTitle === '' ? sanitize(id) : `${sanitize(id)} ${cleanTitle}`;
}

function details(progress: Progress): string {
  const parts: string[] = [];
  if (progress.failed > 0) parts.push(`${progress.failed} failed`);
  if (progress.ratePerMinute > 0 && Number.isFinite(progress.ratePerMinute)) {
    parts.push(formatRate(progress.ratePerMinute));
  }
  if (progress.remaining === 0)
    parts.push(`done in ${formatDuration(Math.max(0, progress.elapsedMs))}`);
  else if (progress.etaMs !== null) parts.push(`ETA ${formatDuration(progress.etaMs)}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
