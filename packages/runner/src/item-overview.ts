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

function brief(item: BacklogItem): ItemBrief {
  return { id: item.id, type: item.type, title: item.title, status: item.status };
}
