import { itemOverview } from '@savepoint/runner';
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
    const { item, ancestors, dependencies, children, ready, blockedBy } = overview;
    const { milestones, tasks, subtasks, ...fields } = item as unknown as Record<string, unknown>;
    const result = {
      session: snapshot.metadata.id,
      item: fields,
      ancestors,
      dependencies,
      children,
      ready,
      blockedBy,
    };
    if (values.json) {
      print(io, result, undefined);
      return 0;
    }
    const state = ready
      ? item.type === 'Subtask'
        ? 'ready to run'
        : 'has a subtask ready to run'
      : blockedBy.length > 0
        ? `blocked by the failure of ${blockedBy.join(', ')}`
        : overview.done
          ? 'done'
          : 'waiting on its dependencies';
    const lines = [`${item.type} ${item.id}: ${item.title}`, `  status: ${item.status} (${state})`];
    if (ancestors.length > 0)
      lines.push(`  in: ${ancestors.map((a) => `${a.id} ${a.title}`).join(' > ')}`);
    if ('description' in item && item.description) lines.push(`  description: ${item.description}`);
    if (item.type === 'Subtask') {
      lines.push(`  story points: ${item.story_points}`);
      lines.push(dependencies.length ? '  depends on:' : '  depends on: nothing');
      for (const dep of dependencies)
        lines.push(`    ${dep.id} ${dep.title ?? '(no such item)'} (${dep.status})`);
      lines.push(
        '  context_scope:',
        ...item.context_scope.split('\n').map((line) => `    ${line}`),
      );
    } else {
      lines.push(`  ${children.length} ${children.length === 1 ? 'child' : 'children'}:`);
      for (const child of children) lines.push(`    ${child.id} ${child.title} (${child.status})`);
    }
    print(io, null, lines);
    return 0;
  },
};
