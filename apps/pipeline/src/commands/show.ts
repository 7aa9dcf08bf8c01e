import { formatItemOverview, itemOverview } from '@savepoint/runner';
import { noItem } from '../errors.ts';
import { single } from '../options.ts';
import { withStore } from '../store.ts';
import { type CliCommand, print, readChosen } from './shared.ts';

/** `savepoint show <id>`: one item with its ancestors, dependencies and context. */
export const show: CliCommand = {
  async run(values, positionals, io) {
    const id = single(positionals, 'show', '<id>');
    const { snapshot, index } = await withStore(values, io.env, (store) =>
      readChosen(store, values),
    );
    const overview = itemOverview(index, id);
    if (!overview) throw noItem(id, snapshot.metadata.id);
    if (!values.json) {
      print(io, null, formatItemOverview(overview));
      return 0;
    }
    const { item, ancestors, dependencies, children, ready, blockedBy } = overview;
    // The item's own fields: its children are listed as briefs.
    const { milestones, tasks, subtasks, ...fields } = item as unknown as Record<string, unknown>;
    const session = snapshot.metadata.id;
    const result = { session, item: fields, ancestors, dependencies, children, ready, blockedBy };
    print(io, result, undefined);
    return 0;
  },
};
