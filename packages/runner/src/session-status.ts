import { join } from 'node:path';
import type { ReadonlyBacklogIndex, SessionSnapshot } from '@savepoint/session';
import {
  formatOutline,
  type Status,
  type StatusTotals,
  summarizeCounts,
} from '@savepoint/task-schema';
import { blockedSubtasks } from './report.ts';

/** How many failed or blocked subtasks {@link formatSessionStatus} lists before `... and N more`. */
export const STATUS_LIST_LIMIT = 20;

/**
 * Where a session stands, as {@link sessionStatus} finds it: the fields a run's JSON summary has,
 * for a session read at rest. Its keys are in the order a JSON report prints them.
 */
export interface SessionStatus extends StatusTotals {
  readonly session: string;
  readonly sessionDir: string;
  /** Always `null`: a status covers the whole backlog. */
  readonly scope: null;
  readonly currentItemId: string | null;
  /** Every Failed subtask, in depth-first order. */
  readonly failedItems: { readonly id: string; readonly title: string }[];
  /** Always empty: reading a session returns nothing to Planned. */
  readonly recovered: string[];
  /** Items the snapshot left in flight (see `SessionSnapshot.inFlight`). */
  readonly inFlight: readonly string[];
  /** Subtasks blocked by a failure, as {@link blockedSubtasks} finds them. */
  readonly blocked: string[];
  /** `'failed'` when the session's last QA step failed. */
  readonly qa: 'failed' | null;
  /** Always 0: the status was read. */
  readonly exitCode: 0;
}

/** What {@link sessionStatus} and {@link formatSessionStatus} need besides the session. */
export interface SessionStatusOptions {
  /**
   * Whether the session's last QA step failed (it has a `TEST_RESULTS.md`).
   * @default false
   */
  readonly qaFailed?: boolean;
}

/** Options of {@link formatSessionStatus}. */
export interface FormatSessionStatusOptions extends SessionStatusOptions {
  /**
   * Whether to end with the backlog as an outline (`formatOutline`), after an empty line.
   * @default false
   */
  readonly tree?: boolean;
}

type StatusIndex = Pick<
  ReadonlyBacklogIndex,
  'get' | 'subtasks' | 'blockers' | 'ancestors' | 'countByStatus'
>;

/**
 * Where the session `snapshot` stands (`index` indexes its backlog): its counts, current item,
 * failed and blocked subtasks, items left in flight and whether QA failed. Reads nothing and
 * writes nothing, so it serves a session another process is running.
 *
 * @example
 * const snapshot = await readSession(path, { store });
 * const status = sessionStatus(snapshot, createBacklogIndex(snapshot.backlog));
 * console.log(`${status.completed}/${status.total}, ${status.blocked.length} blocked`);
 */
export function sessionStatus(
  snapshot: Pick<SessionSnapshot, 'metadata' | 'currentItemId' | 'inFlight'>,
  index: StatusIndex,
  options: SessionStatusOptions = {},
): SessionStatus {
  return collect(snapshot, index, options).status;
}

/**
 * The text lines of {@link sessionStatus}: the session (and its parent), its counts, current
 * item and subtasks by status, then the failed and the blocked subtasks (each list capped at
 * {@link STATUS_LIST_LIMIT} with `... and N more`), a line naming `TEST_RESULTS.md` when QA
 * failed and, with `tree`, the backlog as an outline.
 *
 * @example
 * formatSessionStatus(snapshot, index).join('\n');
 * // Session 001_14b9dc2a33c7
 * //   2/3 complete (66.7%), 1 failed, 0 blocked, 0 remaining
 * //   current item: none
 * //   by status: Complete 2, Failed 1
 * //   failed:
 * //     P1.M1.T1.S3 Write the docs
 */
export function formatSessionStatus(
  snapshot: Pick<SessionSnapshot, 'metadata' | 'currentItemId' | 'inFlight' | 'backlog'>,
  index: StatusIndex,
  options: FormatSessionStatusOptions = {},
): string[] {
  const { status, blocked } = collect(snapshot, index, options);
  const { parentSession } = snapshot.metadata;
  const lines = [
    `Session ${status.session}${parentSession ? ` (parent ${parentSession})` : ''}`,
    `  ${status.completed}/${status.total} complete (${status.percentage.toFixed(1)}%), ${status.failed} failed, ${blocked.size} blocked, ${status.remaining} remaining`,
    `  current item: ${status.currentItemId ?? 'none'}`,
    `  by status: ${formatCounts(status.byStatus)}`,
    ...listed(
      'failed',
      status.failedItems.map((s) => `${s.id} ${s.title}`),
    ),
    ...listed(
      'blocked',
      [...blocked].map(([id, by]) => `${id} ${index.get(id)!.title} (waits on ${by.join(', ')})`),
    ),
  ];
  if (status.qa) lines.push(`  QA failed: see ${join(status.sessionDir, 'TEST_RESULTS.md')}`);
  if (options.tree) lines.push('', ...formatOutline(snapshot.backlog));
  return lines;
}

function collect(
  snapshot: Pick<SessionSnapshot, 'metadata' | 'currentItemId' | 'inFlight'>,
  index: StatusIndex,
  { qaFailed = false }: SessionStatusOptions,
): { status: SessionStatus; blocked: Map<string, string[]> } {
  const blocked = blockedSubtasks(index);
  const failed = index.subtasks().filter((s) => s.status === 'Failed');
  const status: SessionStatus = {
    session: snapshot.metadata.id,
    sessionDir: snapshot.metadata.path,
    scope: null,
    ...summarizeCounts(index.countByStatus()),
    currentItemId: snapshot.currentItemId,
    failedItems: failed.map(({ id, title }) => ({ id, title })),
    recovered: [],
    inFlight: snapshot.inFlight,
    blocked: [...blocked.keys()],
    qa: qaFailed ? 'failed' : null,
    exitCode: 0,
  };
  return { status, blocked };
}

function listed(what: string, entries: string[]): string[] {
  if (entries.length === 0) return [];
  const limit = STATUS_LIST_LIMIT;
  const more = entries.length > limit ? [`    ... and ${entries.length - limit} more`] : [];
  return [`  ${what}:`, ...entries.slice(0, limit).map((e) => `    ${e}`), ...more];
}

function formatCounts(counts: Record<Status, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ') || 'none'
  );
}
