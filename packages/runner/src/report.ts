import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadonlyBacklogIndex, SessionManager } from '@savepoint/session';
import type { Status } from '@savepoint/task-schema';
import type { FailureRecord } from './types.ts';

/**
 * Subtasks in scope, neither done nor Failed, that wait (directly or through other blocked work)
 * on a Failed subtask, each mapped to the dependencies it waits on for that reason. Work that only
 * waits on something still to do is not blocked, so this holds in the middle of a run too.
 */
export function blockedSubtasks(
  index: Pick<ReadonlyBacklogIndex, 'subtasks' | 'blockers' | 'ancestors'>,
  scope?: string,
): Map<string, string[]> {
  const stuck = new Map<string, string[]>();
  const failing = new Set<string>();
  const mark = (id: string) => {
    failing.add(id);
    for (const container of index.ancestors(id)) failing.add(container.id);
  };
  for (const subtask of index.subtasks()) if (subtask.status === 'Failed') mark(subtask.id);
  // Depth-first order puts most dependencies first; repeat until nothing new is found.
  for (let grew = failing.size > 0; grew; ) {
    grew = false;
    for (const subtask of index.subtasks(scope)) {
      if (SETTLED.has(subtask.status) || stuck.has(subtask.id)) continue;
      const waits = index.blockers(subtask.id).filter((id) => failing.has(id));
      if (waits.length > 0) {
        stuck.set(subtask.id, waits);
        mark(subtask.id);
        grew = true;
      }
    }
  }
  return stuck;
}

const SETTLED = new Set<Status>(['Complete', 'Obsolete', 'Failed']);

/**
 * Brings the session's ERROR_REPORT.md in line with the Failed subtasks it holds now: rewritten
 * while some are Failed (`failures` of this run first-hand, earlier ones kept from the old report),
 * removed once none is. Resolves to what it did.
 *
 * @throws SessionError when the report cannot be written
 */
export async function syncErrorReport(
  manager: SessionManager,
  failures: readonly FailureRecord[],
): Promise<'written' | 'removed' | 'unchanged'> {
  const state = manager.currentSession;
  if (!state)
    throw new TypeError('syncErrorReport expected a session manager with an open session');
  const file = join(state.metadata.path, 'ERROR_REPORT.md');
  const old = await readFile(file, 'utf8').catch(() => undefined);
  const failed = manager.index.subtasks().filter((s) => s.status === 'Failed');
  if (failed.length === 0) {
    if (old === undefined) return 'unchanged';
    await rm(file, { force: true });
    return 'removed';
  }
  const earlier = new Map<string, string>();
  for (const section of (old ?? '').split(/^(?=## )/m).slice(1)) {
    const id = /^## (\S+): /.exec(section)?.[1];
    if (id) earlier.set(id, section.trimEnd());
  }
  const fresh = new Map(failures.map((record) => [record.id, record]));
  const entries = failed.map(
    (s) =>
      fresh.get(s.id) ??
      earlier.get(s.id) ??
      `## ${s.id}: ${oneLine(s.title)}\n\n- Failed in an earlier run; no details were recorded.`,
  );
  const text = errorReport(state.metadata.id, entries, blockedSubtasks(manager.index));
  if (text === old) return 'unchanged';
  await manager.writeArtifact('ERROR_REPORT.md', text);
  return 'written';
}

/**
 * The text of ERROR_REPORT.md: every failed subtask, its attempts, exit, log and last output. An
 * entry given as text is a section kept from an earlier report, used as it is.
 */
export function errorReport(
  session: string,
  failures: readonly (FailureRecord | string)[],
  blocked: ReadonlyMap<string, readonly string[]>,
): string {
  const lines = [
    '# Error report',
    '',
    `Session: ${session}`,
    `Failed subtasks: ${failures.length}`,
    `Subtasks blocked by a failure: ${blocked.size}`,
    '',
  ];
  for (const failure of failures) {
    if (typeof failure === 'string') {
      lines.push(failure, '');
      continue;
    }
    lines.push(
      `## ${failure.id}: ${oneLine(failure.title)}`,
      '',
      `- Attempts: ${failure.attempts}`,
      `- Exit code: ${failure.exitCode ?? 'none'}${failure.signal ? ` (signal ${failure.signal})` : ''}`,
      ...(failure.message ? [`- Reason: ${oneLine(failure.message)}`] : []),
      ...(failure.logPath ? [`- Log: ${failure.logPath}`] : []),
      `- Failed at: ${failure.at}`,
      '',
      'Last output:',
      '',
      fence(failure.outputTail.trimEnd() || '(no output)'),
      '',
    );
  }
  if (blocked.size > 0) {
    lines.push('## Blocked', '');
    for (const [id, by] of blocked) lines.push(`- ${id}: waits on ${by.join(', ')}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The text of TEST_RESULTS.md after a failing QA command. */
export function testResults(command: string, exitCode: number | null, output: string): string {
  return [
    '# Test results',
    '',
    `QA command: \`${command.replace(/`/g, "'")}\``,
    `Exit code: ${exitCode ?? 'none'}`,
    '',
    fence(output.trimEnd() || '(no output)'),
    '',
  ].join('\n');
}

function oneLine(text: string): string {
  const flat = text.replace(/[\0-\x1f]+/g, ' ');
  return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat;
}

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const marks = '`'.repeat(longest + 1);
  return `${marks}\n${text}\n${marks}`;
}
