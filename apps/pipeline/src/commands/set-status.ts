import { syncErrorReport } from '@savepoint/runner';
import { SessionManager } from '@savepoint/session';
import type { Status } from '@savepoint/task-schema';
import { noItem } from '../errors.ts';
import { UsageError } from '../options.ts';
import { pickSession, withStore } from '../store.ts';
import { type CliCommand, print, SESSION_SPEC } from './shared.ts';

/** The statuses a person may set; the in-flight ones belong to a run. */
const SETTABLE: readonly Status[] = ['Planned', 'Complete', 'Failed', 'Obsolete'];

/**
 * `savepoint set-status <id> <status>`: changes an item under the session's lock. A container's
 * subtasks all get the status, and the container rolls up from them.
 */
export const setStatus: CliCommand = {
  options: SESSION_SPEC,
  async run(values, positionals, io) {
    if (positionals.length !== 2) {
      throw new UsageError(
        `set-status needs <id> and <status>, got ${positionals.length} argument(s)`,
      );
    }
    const [id, wanted] = positionals as [string, string];
    const status = SETTABLE.find((s) => s.toLowerCase() === wanted.toLowerCase());
    if (!status) {
      throw new UsageError(
        `set-status takes ${SETTABLE.join(', ')} as the status, got '${wanted}'`,
      );
    }
    return withStore(values, io.env, async ({ store }) => {
      const target = await pickSession(store, values.session as string | undefined);
      const manager = new SessionManager({ store });
      await manager.loadSession(target.path);
      try {
        const item = manager.index.get(id);
        if (!item) throw noItem(id, target.id);
        const before = item.status;
        const subtasks = item.type === 'Subtask' ? [item] : manager.index.subtasks(id);
        for (const subtask of subtasks) manager.updateItemStatus(subtask.id, status);
        if (item.type !== 'Subtask' && subtasks.length === 0) manager.updateItemStatus(id, status);
        await manager.flushUpdates();
        await manager.saveBacklog(manager.currentSession!.taskRegistry);
        const report = await syncErrorReport(manager, []);
        const after = manager.index.get(id)!.status;
        const changed = subtasks.length > 1 ? ` (${subtasks.length} subtasks)` : '';
        if (values.json) {
          print(
            io,
            {
              session: target.id,
              id,
              from: before,
              to: after,
              subtasks: subtasks.map((s) => s.id),
              errorReport: report,
            },
            undefined,
          );
        } else {
          const note =
            report === 'removed'
              ? ' ERROR_REPORT.md removed: nothing is Failed now.'
              : report === 'written'
                ? ' ERROR_REPORT.md updated.'
                : '';
          print(io, null, [
            `${id}: ${before} -> ${after}${changed} in session ${target.id}.${note}`,
          ]);
        }
        return 0;
      } finally {
        await manager.close();
      }
    });
  },
};
