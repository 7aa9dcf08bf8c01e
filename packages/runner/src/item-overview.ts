import type { ReadonlyBacklogIndex } from '@savepoint/session';
import type { BacklogItem, ItemType, Status } from '@savepoint/task-schema';
import { blockedSubtasks } from './report.ts';

/** An item as listed beside another: its id, type, title and status. */
export interface ItemBrief {
  readonly id: string;
  /** `null` for a dependency on an id no item has. */
  readonly type: ItemType | null;
  readonly title: string | null;
  /** `'unknown'` for a dependency on an id no item has. */
  readonly status: Status | 'unknown';
}

/** Where one item stands in its backlog; see {@link itemOverview}. */
export interface ItemOverview {
  readonly item: BacklogItem;
  /** From the phase down to the parent. */
  readonly ancestors: ItemBrief[];
  /** A subtask's dependencies with their statuses; empty for a container. */
  readonly dependencies: ItemBrief[];
  /** A container's direct children; empty for a subtask. */
  readonly children: ItemBrief[];
  /** A subtask that can run now, or a container with a subtask that can. */
  readonly ready: boolean;
  /** Whether it is done: Complete or Obsolete, or every subtask under it is. */
  readonly done: boolean;
  /** A subtask held up by failures: the dependencies it waits on for that reason. */
  readonly blockedBy: string[];
}

/**
 * Where item `id` stands: its ancestors, its dependencies with their statuses (a dependency on an
 * unknown id is listed with status `'unknown'`), its children, whether it is ready or done, and
 * what failures block it (as {@link blockedSubtasks} finds them). `undefined` for an unknown id.
 *
 * @example
 * const overview = itemOverview(createBacklogIndex(backlog), 'P1.M1.T1.S2');
 * if (overview?.blockedBy.length) console.log(`blocked by ${overview.blockedBy.join(', ')}`);
 */
export function itemOverview(
  index: Pick<
    ReadonlyBacklogIndex,
    'get' | 'ancestors' | 'getChildren' | 'isReady' | 'isDone' | 'subtasks' | 'blockers'
  >,
  id: string,
): ItemOverview | undefined {
  const item = index.get(id);
  if (!item) return undefined;
  const dependencies = (item.type === 'Subtask' ? item.dependencies : []).map((dep) => {
    const found = index.get(dep);
    return found ? brief(found) : { id: dep, type: null, title: null, status: 'unknown' as const };
  });
  return {
    item,
    ancestors: index.ancestors(id).reverse().map(brief),
    dependencies,
    children: index.getChildren(id).map(brief),
    ready: index.isReady(id),
    done: index.isDone(id),
    blockedBy: item.type === 'Subtask' ? (blockedSubtasks(index).get(id) ?? []) : [],
  };
}

/**
 * The text lines of an {@link itemOverview}: the item and its title, its status with where it
 * stands (`ready to run`, `blocked by the failure of ...`, `done`, `waiting on its dependencies`),
 * its ancestors and description; for a subtask its story points, dependencies with their statuses
 * and its context_scope, for a container its children with their statuses.
 *
 * @example
 * formatItemOverview(itemOverview(index, 'P1.M1.T1.S2')!).join('\n');
 * // Subtask P1.M1.T1.S2: Write the parser
 * //   status: Planned (blocked by the failure of P1.M1.T1.S1)
 * //   in: P1 Build > P1.M1 Core > P1.M1.T1 Parser
 * //   story points: 2
 * //   depends on:
 * //     P1.M1.T1.S1 Write the lexer (Failed)
 * //   context_scope:
 * //     ...
 */
export function formatItemOverview(overview: ItemOverview): string[] {
  const { item, ancestors, dependencies, children, ready, blockedBy } = overview;
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
    lines.push('  context_scope:', ...item.context_scope.split('\n').map((line) => `    ${line}`));
  } else {
    lines.push(`  ${children.length} ${children.length === 1 ? 'child' : 'children'}:`);
    for (const child of children) lines.push(`    ${child.id} ${child.title} (${child.status})`);
  }
  return lines;
}

function brief(item: BacklogItem): ItemBrief {
  return { id: item.id, type: item.type, title: item.title, status: item.status };
}
