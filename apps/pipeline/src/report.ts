/** One subtask that ended Failed in this run. */
export interface FailureRecord {
  id: string;
  title: string;
  attempts: number;
  exitCode: number | null;
  signal: string | null;
  outputTail: string;
  at: string;
}

/**
 * The text of ERROR_REPORT.md: every failed item, its attempts, exit code and output tail. An
 * entry given as text is a section kept from an earlier report.
 */
export function errorReport(
  session: string,
  failures: readonly (FailureRecord | string)[],
  blocked: ReadonlyMap<string, string[]>,
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
      `## ${failure.id}: ${failure.title}`,
      '',
      `- Attempts: ${failure.attempts}`,
      `- Exit code: ${failure.exitCode ?? 'none'}${failure.signal ? ` (signal ${failure.signal})` : ''}`,
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

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const marks = '`'.repeat(longest + 1);
  return `${marks}\n${text}\n${marks}`;
}
