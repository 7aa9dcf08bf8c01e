import { blockedSubtasks } from '@savepoint/runner';
import { CliError } from '../errors.ts';
import { withStore } from '../store.ts';
import { type CliCommand, print, readChosen } from './shared.ts';

/** `savepoint next`: the subtasks that are ready now, in the order a run takes them. */
export const next: CliCommand = {
  positionals: false,
  async run(values, _positionals, io) {
    const { snapshot, index } = await withStore(values, io.env, (store) =>
      readChosen(store, values),
    );
    const scope = values.scope as string | undefined;
    if (scope !== undefined && !index.has(scope)) {
      throw new CliError(
        `unknown scope '${scope}': no item with that id in session ${snapshot.metadata.id}`,
      );
    }
    const ready = index
      .subtasks(scope)
      .filter((s) => index.isReady(s.id))
      .map(({ id, title, status }) => ({ id, title, status }));
    const session = snapshot.metadata.id;
    if (values.json) {
      print(io, { session, scope: scope ?? null, ready }, undefined);
      return 0;
    }
    if (ready.length === 0) {
      const counts = index.countByStatus(scope);
      const blocked = blockedSubtasks(index, scope).size;
      print(io, null, [
        `Nothing is ready in session ${session}: ${counts.Complete} complete, ${counts.Failed} failed, ${blocked} blocked by a failure.`,
      ]);
      return 0;
    }
    const lines = ready.map(
      (s) => `  ${s.id}  ${s.title}${s.status === 'Planned' ? '' : ` (${s.status}, runs again)`}`,
    );
    print(io, null, [`Ready now in session ${session} (${ready.length}):`, ...lines]);
    return 0;
  },
};
