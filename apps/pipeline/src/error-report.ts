import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SessionManager } from '@savepoint/session';
import { blockedSubtasks } from './commands/shared.ts';
import { errorReport, type FailureRecord } from './report.ts';

/**
 * Brings the open session's ERROR_REPORT.md in line with the Failed subtasks in it now: rewritten
 * when some are Failed (this run's `records` first-hand, earlier failures kept from the old
 * report), removed when none is. Returns what it did.
 */
export async function syncErrorReport(
  manager: SessionManager,
  records: readonly FailureRecord[],
): Promise<'written' | 'removed' | 'unchanged'> {
  const { metadata } = manager.currentSession!;
  const file = join(metadata.path, 'ERROR_REPORT.md');
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
  const fresh = new Map(records.map((r) => [r.id, r]));
  const entries = failed.map(
    (s) =>
      fresh.get(s.id) ??
      earlier.get(s.id) ??
      `## ${s.id}: ${s.title}\n\n- Failed in an earlier run; no details were recorded.`,
  );
  const text = errorReport(metadata.id, entries, blockedSubtasks(manager.index));
  if (text === old) return 'unchanged';
  await manager.writeArtifact('ERROR_REPORT.md', text);
  return 'written';
}
