import { setItemStatus } from '@savepoint/runner';
import { SessionManager } from '@savepoint/session';
import type { Status } from '@savepoint/task-schema';
import { noItem } from '../errors.ts';
import { UsageError } from '../options.ts';
import { pickSession, withStore } from '../store.ts';
import { type CliCommand, print } from './shared.ts';

/** The statuses a person may set; the in-flight ones belong to a run. */
const SETTABLE: readonly Status[] = ['Planned', 'Complete', 'Failed', 'Obsolete'];

/**
 * `savepoint set-status <id> <status>`: changes an item under the session's lock. A container's
 * subtasks all get the status, and the container rolls up from them.
 */
export const setStatus: CliCommand = {
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
        if (!manager.index.has(id)) throw noItem(id, target.id);
        const result = await setItemStatus(manager, id, status);
        const { from, to, subtasks, errorReport } = result;
        if (values.json) {
          print(io, { session: target.id, id, ...result }, undefined);
        } else {
          const changed = subtasks.length > 1 ? ` (${subtasks.length} subtasks)` : '';
          const note =
            errorReport === 'removed'
              ? ' ERROR_REPORT.md removed: nothing is Failed now.'
              : errorReport === 'written'
                ? ' ERROR_REPORT.md updated.'
                : '';
          print(io, null, [`${id}: ${from} -> ${to}${changed} in session ${target.id}.${note}`]);
        }
        return 0;
      } finally {
        await manager.close();
      }
    });
  },
};
