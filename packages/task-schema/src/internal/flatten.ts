import type { Backlog, BacklogItem, ContainerItem, Subtask } from '../schema.ts';

/**
 * The backlog tree laid out in arrays, one slot per item in document (pre-)order. Both the graph
 * check and the index start from this; it costs one pass and a handful of typed arrays.
 */
export interface FlatBacklog {
  /** Number of items. */
  count: number;
  /** Number of subtasks. */
  subtaskCount: number;
  /** node -> item object. */
  items: BacklogItem[];
  /** node -> id. */
  ids: string[];
  /** node -> 0 Phase, 1 Milestone, 2 Task, 3 Subtask. */
  level: Uint8Array;
  /** node -> parent node, -1 for phases. */
  parent: Int32Array;
  /** node -> index in its parent's child array (or in `backlog`). */
  pos: Int32Array;
  /** node -> one past the last node of its subtree; children are walked with `c = end[c]`. */
  end: Int32Array;
  /** node -> first position in `order` of the subtasks under it (itself for a subtask). */
  subStart: Int32Array;
  /** node -> one past the last position in `order` of the subtasks under it. */
  subEnd: Int32Array;
  /** execution position -> subtask node, depth-first. */
  order: Int32Array;
}

/** The key holding the children of a container at each level. */
export const CHILD_KEYS = ['milestones', 'tasks', 'subtasks'] as const;

/** Lays out a backlog in document order. The depth is fixed at four, so plain loops suffice. */
export function flattenBacklog(backlog: Backlog): FlatBacklog {
  const phases = backlog.backlog;
  let count = 0;
  let subtaskCount = 0;
  for (const phase of phases) {
    count++;
    for (const milestone of phase.milestones) {
      count++;
      for (const task of milestone.tasks) {
        count += 1 + task.subtasks.length;
        subtaskCount += task.subtasks.length;
      }
    }
  }
  const flat: FlatBacklog = {
    count,
    subtaskCount,
    items: new Array(count),
    ids: new Array(count),
    level: new Uint8Array(count),
    parent: new Int32Array(count),
    pos: new Int32Array(count),
    end: new Int32Array(count),
    subStart: new Int32Array(count),
    subEnd: new Int32Array(count),
    order: new Int32Array(subtaskCount),
  };
  let node = 0;
  let sub = 0;
  const open = (item: BacklogItem, level: number, parent: number, pos: number): number => {
    flat.items[node] = item;
    flat.ids[node] = item.id;
    flat.level[node] = level;
    flat.parent[node] = parent;
    flat.pos[node] = pos;
    flat.subStart[node] = sub;
    return node++;
  };
  const close = (at: number): void => {
    flat.end[at] = node;
    flat.subEnd[at] = sub;
  };
  for (let pi = 0; pi < phases.length; pi++) {
    const phase = phases[pi]!;
    const pn = open(phase, 0, -1, pi);
    for (let mi = 0; mi < phase.milestones.length; mi++) {
      const milestone = phase.milestones[mi]!;
      const mn = open(milestone, 1, pn, mi);
      for (let ti = 0; ti < milestone.tasks.length; ti++) {
        const task = milestone.tasks[ti]!;
        const tn = open(task, 2, mn, ti);
        for (let si = 0; si < task.subtasks.length; si++) {
          const sn = open(task.subtasks[si]!, 3, tn, si);
          flat.order[sub++] = sn;
          close(sn);
        }
        close(tn);
      }
      close(mn);
    }
    close(pn);
  }
  return flat;
}

/** The JSON path of a node: `['backlog', 0, 'milestones', 1, ...]`. */
export function nodePath(flat: Pick<FlatBacklog, 'level' | 'parent' | 'pos'>, node: number) {
  const path: (string | number)[] = [];
  for (let at = node; at >= 0; at = flat.parent[at]!) {
    const level = flat.level[at]!;
    path.push(flat.pos[at]!, level === 0 ? 'backlog' : CHILD_KEYS[level - 1]!);
  }
  return path.reverse();
}

/** The child array of a container item, or `undefined` for a subtask. */
export function childArray(item: BacklogItem): readonly BacklogItem[] | undefined {
  switch (item.type) {
    case 'Phase':
      return item.milestones;
    case 'Milestone':
      return item.tasks;
    case 'Task':
      return item.subtasks;
    default:
      return undefined;
  }
}

/** Whether an item is a subtask. */
export function isSubtask(item: BacklogItem): item is Subtask {
  return item.type === 'Subtask';
}

/** Whether an item is a container. */
export function isContainer(item: BacklogItem): item is ContainerItem {
  return item.type !== 'Subtask';
}
