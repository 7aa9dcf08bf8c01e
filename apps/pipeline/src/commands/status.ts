import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { blockedSubtasks } from '@savepoint/runner';
import { readSessions } from '@savepoint/session';
import { formatOutline, type Status, summarizeCounts } from '@savepoint/task-schema';
import { describeError } from '../errors.ts';
import { type Store, withStore } from '../store.ts';
import { type CliCommand, print, readChosen } from './shared.ts';

const LISTED = 20;
const UNKNOWN = { total: null, completed: null, failed: null, percentage: null };

/** `savepoint status`: where a session stands, with the fields `run --json` reports. */
export const status: CliCommand = {
  positionals: false,
  async run(values, _positionals, io) {
    const { snapshot, index, qaFailed } = await withStore(values, io.env, async (store) => {
      const chosen = await readChosen(store, values);
      return { ...chosen, qaFailed: await hasTestResults(store, chosen.snapshot.metadata) };
    });
    const counts = index.countByStatus();
    const failed = index.subtasks().filter((s) => s.status === 'Failed');
    const blocked = blockedSubtasks(index);
    const { metadata } = snapshot;
    const report = {
      session: metadata.id,
      sessionDir: metadata.path,
      scope: null,
      ...summarizeCounts(counts),
      currentItemId: snapshot.currentItemId,
      failedItems: failed.map(({ id, title }) => ({ id, title })),
      recovered: [],
      inFlight: snapshot.inFlight,
      blocked: [...blocked.keys()],
      qa: qaFailed ? 'failed' : null,
      exitCode: 0,
    };
    if (values.json) {
      print(io, values.tree ? { ...report, backlog: snapshot.backlog } : report, undefined);
      return 0;
    }
    const lines = [
      `Session ${report.session}${metadata.parentSession ? ` (parent ${metadata.parentSession})` : ''}`,
      `  ${report.completed}/${report.total} complete (${report.percentage.toFixed(1)}%), ${report.failed} failed, ${blocked.size} blocked, ${report.remaining} remaining`,
      `  current item: ${report.currentItemId ?? 'none'}`,
      `  by status: ${formatCounts(counts)}`,
      ...listed(
        'failed',
        failed.map((s) => `${s.id} ${s.title}`),
      ),
      ...listed(
        'blocked',
        [...blocked].map(([id, by]) => `${id} ${index.get(id)!.title} (waits on ${by.join(', ')})`),
      ),
    ];
    if (report.qa) lines.push(`  QA failed: see ${join(metadata.path, 'TEST_RESULTS.md')}`);
    if (values.tree) lines.push('', ...formatOutline(snapshot.backlog));
    print(io, null, lines);
    return 0;
  },
};

/** `savepoint sessions`: every session of a plan folder; a damaged one is listed as damaged. */
export const sessions: CliCommand = {
  positionals: false,
  async run(values, _positionals, io) {
    return withStore(values, io.env, async ({ store }) => {
      const planDir = store.location;
      const rows = [];
      const damaged: string[] = [];
      for (const { summary, snapshot, counts, error } of await readSessions(store)) {
        const row = {
          id: summary.id,
          sequence: summary.sequence,
          hash: summary.hash,
          createdAt: summary.createdAt.toISOString(),
        };
        if (error) {
          const { message } = describeError(error);
          damaged.push(message);
          const [damage] = message.split('\n');
          rows.push({ ...row, parent: null, damaged: damage!, ...UNKNOWN });
          continue;
        }
        const { total, completed, failed, percentage } = summarizeCounts(counts);
        const parent = snapshot.metadata.parentSession;
        rows.push({ ...row, parent, damaged: null, total, completed, failed, percentage });
      }
      if (values.json) print(io, { planDir, sessions: rows }, undefined);
      else if (rows.length === 0) print(io, null, [`No sessions in ${planDir}`]);
      else {
        const lines = ['SEQ  HASH          PARENT            CREATED                   PROGRESS'];
        for (const row of rows) {
          const progress = row.damaged
            ? 'DAMAGED (see below)'
            : `${row.completed}/${row.total} (${row.percentage!.toFixed(1)}%)${row.failed ? `, ${row.failed} failed` : ''}`;
          lines.push(
            `${String(row.sequence).padStart(3, '0')}  ${row.hash}  ${(row.parent ?? '-').padEnd(16)}  ${row.createdAt}  ${progress}`,
          );
        }
        print(io, null, lines);
      }
      for (const message of damaged) io.stderr.write(`savepoint: damaged session: ${message}\n`);
      return damaged.length > 0 ? 2 : 0;
    });
  },
};

/** Whether the session's last QA failed: it has a TEST_RESULTS.md. */
async function hasTestResults(store: Store, metadata: { id: string; path: string }) {
  if (store.kind === 'postgres') {
    return (await store.store.readArtifact(metadata.id, 'TEST_RESULTS.md')) !== null;
  }
  return existsSync(join(metadata.path, 'TEST_RESULTS.md'));
}

function listed(what: string, entries: string[]): string[] {
  if (entries.length === 0) return [];
  const more = entries.length > LISTED ? [`    ... and ${entries.length - LISTED} more`] : [];
  return [`  ${what}:`, ...entries.slice(0, LISTED).map((e) => `    ${e}`), ...more];
}

function formatCounts(counts: Record<Status, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ') || 'none'
  );
}
