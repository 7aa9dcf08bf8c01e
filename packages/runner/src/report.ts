import type { ReadonlyBacklogIndex } from '@savepoint/session';
import type { FailureRecord } from './types.ts';

/**
 * Subtasks in scope that are not done and wait, directly or not, on something that is not done:
 * after a run that ended by itself, those are blocked by a failure (or by a dependency outside the
 * scope). Maps each to the dependencies it waits on.
 */
export function blockedSubtasks(
  index: Pick<ReadonlyBacklogIndex, 'subtasks' | 'blockers'>,
  scope?: string,
): Map<string, string[]> {
  const blocked = new Map<string, string[]>();
  for (const subtask of index.subtasks(scope)) {
    if (subtask.status === 'Complete' || subtask.status === 'Obsolete') continue;
    if (subtask.status === 'Failed') continue;
    const waits = index.blockers(subtask.id);
    if (waits.length > 0) blocked.set(subtask.id, waits);
  }
  return blocked;
}

/** The text of ERROR_REPORT.md: every failed subtask, its attempts, exit, log and last output. */
export function errorReport(
  session: string,
  failures: readonly FailureRecord[],
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
