import { formatReadySubtasks, readySubtasks } from '@savepoint/runner';
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
    const session = snapshot.metadata.id;
    if (scope !== undefined && !index.has(scope)) {
      throw new CliError(`unknown scope '${scope}': no item with that id in session ${session}`);
    }
    if (values.json) {
      print(io, { session, scope: scope ?? null, ready: readySubtasks(index, scope) }, undefined);
    } else print(io, null, formatReadySubtasks(index, session, scope));
    return 0;
  },
};
