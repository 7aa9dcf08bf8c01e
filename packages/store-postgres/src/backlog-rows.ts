import type { Backlog, BacklogItem } from '@savepoint/task-schema';

/** One backlog item as a row of the `items` table (leases and attempts aside). */
export interface ItemRow {
  /** The item id, e.g. `P1.M2.T3.S4`. */
  readonly id: string;
  /** The id of the container holding it, `null` for a phase. */
  readonly parentId: string | null;
  /** Ancestor ids, phase first (empty for a phase). */
  readonly path: readonly string[];
  /** 0 phase, 1 milestone, 2 task, 3 subtask. */
  readonly level: 0 | 1 | 2 | 3;
  /** Position in document (depth-first) order, from 0. */
  readonly position: number;
  /** One past the position of the last item of its subtree. */
  readonly subtreeEnd: number;
  /** The item's status. */
  readonly status: string;
  /**
   * The item's own keys in their order, as JSON text, with its child array (`milestones`,
   * `tasks` or `subtasks`) left empty; unknown keys are kept.
   */
  readonly raw: string;
  /** A subtask's dependencies; empty for containers. */
  readonly dependencies: readonly string[];
}

/** A backlog taken apart: its top-level document and one row per item. */
export interface BacklogRows {
  /**
   * The top-level object (`backlog`, `currentItemId` and any unknown keys) as JSON text in its
   * own key order, with `backlog` left empty.
   */
  readonly document: string;
  /** Every item in document order. */
  readonly items: ItemRow[];
}

/** The key holding each level's children. */
const CHILD_KEYS = ['milestones', 'tasks', 'subtasks'] as const;

/**
 * Takes a parsed backlog apart into rows, keeping every key of every item (unknown ones too) in
 * its order, so {@link rowsToBacklog} gives back an equal backlog with identical key order.
 */
export function backlogToRows(backlog: Backlog): BacklogRows {
  const items: ItemRow[] = [];
  const visit = (item: BacklogItem, level: 0 | 1 | 2 | 3, path: string[]): void => {
    const at = items.length;
    const childKey = level < 3 ? CHILD_KEYS[level as 0 | 1 | 2] : undefined;
    const own: Record<string, unknown> = {};
    for (const key of Object.keys(item)) {
      own[key] = key === childKey ? [] : (item as Record<string, unknown>)[key];
    }
    const row = {
      id: item.id,
      parentId: path.length > 0 ? path[path.length - 1]! : null,
      path,
      level,
      position: at,
      subtreeEnd: at + 1,
      status: item.status,
      raw: JSON.stringify(own),
      dependencies: level === 3 ? [...(item as { dependencies: string[] }).dependencies] : [],
    };
    items.push(row);
    if (childKey !== undefined) {
      const children = (item as unknown as Record<string, BacklogItem[]>)[childKey] ?? [];
      const childPath = [...path, item.id];
      for (const child of children) visit(child, (level + 1) as 1 | 2 | 3, childPath);
    }
    (row as { subtreeEnd: number }).subtreeEnd = items.length;
  };
  for (const phase of backlog.backlog) visit(phase, 0, []);
  const top: Record<string, unknown> = {};
  for (const key of Object.keys(backlog)) {
    top[key] = key === 'backlog' ? [] : (backlog as Record<string, unknown>)[key];
  }
  return { document: JSON.stringify(top), items };
}

/** What {@link rowsToBacklog} needs of a row: read back from the database in document order. */
export interface StoredItemRow {
  readonly id: string;
  readonly level: number;
  readonly status: string;
  readonly raw: string;
}

/**
 * Puts a backlog together again from its document and its rows in document order. Each item's
 * `status` comes from the row (the column is the truth, the raw copy may be older).
 *
 * @param currentItemId - when given (a string or `null`), replaces the document's `currentItemId`
 *   (added at the end when the document had none)
 */
export function rowsToBacklog(
  document: string,
  rows: readonly StoredItemRow[],
  currentItemId?: string | null,
): Backlog {
  const top = JSON.parse(document) as Record<string, unknown>;
  const phases: Record<string, unknown>[] = [];
  top.backlog = phases;
  if (currentItemId !== undefined) top.currentItemId = currentItemId;
  // The open container at each level while walking in document order.
  const open: Record<string, unknown>[] = [];
  for (const row of rows) {
    const item = JSON.parse(row.raw) as Record<string, unknown>;
    item.status = row.status;
    if (row.level === 0) {
      phases.push(item);
    } else {
      const parent = open[row.level - 1];
      if (parent === undefined) {
        throw new Error(`item ${row.id} (level ${row.level}) has no container before it`);
      }
      (parent[CHILD_KEYS[row.level - 1]!] as Record<string, unknown>[]).push(item);
    }
    open[row.level] = item;
    open.length = row.level + 1;
  }
  return top as unknown as Backlog;
}
