import { BacklogError } from './errors.ts';
import { describe } from './internal/describe.ts';
import {
  CHILD_KEYS,
  childArray,
  type FlatBacklog,
  flattenBacklog,
  nodePath,
} from './internal/flatten.ts';
import { COMPLETE, OBSOLETE, rollUpStatus, STATUS_INDEX } from './internal/roll-up.ts';
import type { BacklogIssue, IssuePath } from './issues.ts';
import {
  type Backlog,
  type BacklogItem,
  type ContainerItem,
  STATUSES,
  type Status,
  type Subtask,
} from './schema.ts';

/** Options of {@link BacklogIndex.nextReady}. */
export interface NextReadyOptions {
  /** Only look under this item (`P1`, `P1.M2`, `P1.M2.T3` or a subtask id). Default: everything. */
  scope?: string;
  /** Subtasks for which this returns `true` are passed over (for example ones that already failed). */
  skip?: (subtask: Subtask) => boolean;
}

/** Options of {@link BacklogIndex.setStatus}. */
export interface SetStatusOptions {
  /**
   * Re-derive every ancestor's status from its children after the change (see
   * {@link BacklogIndex.setStatus} for the rule). With `false` only the named item changes.
   * @default true
   */
  rollUp?: boolean;
  /**
   * Called for each item whose status this call changed: the item first, then the ancestors the
   * roll-up changed, nearest first. It runs once the index is up to date.
   */
  onChange?: (id: string, status: Status) => void;
}

/**
 * A mutable index over immutable backlog snapshots, for the hot path of a runner.
 *
 * Built once in O(items + dependencies). Lookups by id or parent are O(1); status changes cost
 * O(depth x siblings): they copy only the path from the root to the item, share every other branch
 * with the previous snapshot, and never modify a snapshot already handed out. Counts by status
 * are kept up to date as statuses change, so reading them is O(1).
 *
 * Done and ready:
 * - A subtask is done when it is Complete or Obsolete (Obsolete work will never run, so treating it
 *   as pending would block its dependents forever).
 * - A container is done when every subtask under it is Complete or Obsolete (an empty container is
 *   done).
 * - A subtask is ready when it is not done and every dependency is done. Dependencies may name an
 *   item at any level; an id that is not in the backlog is never done.
 *
 * Ids are looked up, not parsed, so any id in the backlog works as a scope. Methods that take an
 * id throw {@link BacklogError} with code `UNKNOWN_ID` when no item has it (except `get` and
 * `has`), and `TypeError` when the id is not a string.
 *
 * Snapshots are shared, not copied: treat every backlog passed in or handed out as read-only.
 */
export interface BacklogIndex {
  /** The current snapshot; replaced (never modified) by every change. */
  readonly backlog: Backlog;
  /** The item with this id in the current snapshot, or `undefined`. O(1). */
  get(id: string): BacklogItem | undefined;
  /** Whether an item has this id. O(1). */
  has(id: string): boolean;
  /** The container holding the item, or `undefined` for a phase. O(1). */
  getParent(id: string): ContainerItem | undefined;
  /** The item's children (milestones, tasks or subtasks); empty for a subtask. O(1). */
  getChildren(id: string): readonly BacklogItem[];
  /** The item's containers, nearest first: task, milestone, phase. */
  ancestors(id: string): ContainerItem[];
  /** The JSON path of the item, such as `['backlog', 0, 'milestones', 1]`. */
  pathOf(id: string): IssuePath;
  /** The subtasks under `scope` (default: all) in execution order: depth-first, document order. */
  subtasks(scope?: string): Subtask[];
  /** Whether the item is done (see the interface notes). O(1). */
  isDone(id: string): boolean;
  /**
   * For a subtask: not done and every dependency done. For a container: some subtask under it is
   * ready.
   */
  isReady(id: string): boolean;
  /**
   * The first subtask in execution order (within `scope`) that is neither Complete nor Obsolete,
   * is not skipped, and has every dependency done; `undefined` when there is none. Failed and
   * in-flight subtasks qualify; pass `skip` to leave them out. Finished subtasks are passed over a
   * machine word at a time, so the cost grows with the unfinished subtasks before the answer.
   */
  nextReady(options?: NextReadyOptions): Subtask | undefined;
  /** The subtask's dependencies that are not done yet, as written (unknown ids included). */
  blockers(id: string): string[];
  /**
   * How many subtasks under `scope` (default: all; a subtask counts itself) have each status.
   * Every status is a key. O(1).
   */
  countByStatus(scope?: string): Record<Status, number>;
  /**
   * Sets an item's status and returns the new snapshot (also available as `backlog`). When nothing
   * changes, the current snapshot is returned as is.
   *
   * Roll-up (on by default) then re-derives each ancestor, nearest first, from its direct
   * children: all children Obsolete -> Obsolete; else all Complete or Obsolete -> Complete; else
   * every unfinished child Failed -> Failed; else any child not Planned -> Implementing; else
   * Planned. Setting an item to the status it already has still re-derives its ancestors, which
   * repairs containers whose status disagrees with their children.
   *
   * @throws BacklogError `UNKNOWN_ID` for an unknown id; TypeError for a status not in STATUSES.
   */
  setStatus(id: string, status: Status, options?: SetStatusOptions): Backlog;
  /**
   * Sets `currentItemId` (an id of this backlog, or `null`) and returns the new snapshot.
   * @throws BacklogError `UNKNOWN_ID` for an unknown id.
   */
  setCurrentItemId(id: string | null): Backlog;
  /** Re-indexes a whole new backlog (for example after a reload); O(items + dependencies). */
  replace(backlog: Backlog): void;
}

/**
 * Builds a {@link BacklogIndex} over a backlog snapshot in O(items + dependencies).
 *
 * The backlog should have passed {@link parseBacklog}; the index itself only insists on what it
 * cannot work without: unique ids and known statuses.
 *
 * @throws BacklogError `GRAPH` when ids repeat (issues `DUPLICATE_ID`), `SCHEMA` when a status is
 *   unknown; TypeError when the value is not a backlog object.
 *
 * @example
 * ```ts
 * const index = createBacklogIndex(parseBacklog(text));
 * for (let next = index.nextReady(); next; next = index.nextReady()) {
 *   index.setStatus(next.id, 'Implementing');
 *   await run(next);
 *   await save(index.setStatus(next.id, 'Complete'));
 * }
 * ```
 */
export function createBacklogIndex(backlog: Backlog): BacklogIndex {
  return new Index(backlog);
}

const STATUS_COUNT = STATUSES.length;

class Index implements BacklogIndex {
  #backlog!: Backlog;
  #flat!: FlatBacklog;
  #byId!: Map<string, number>;
  /** node -> index into STATUSES. */
  #status!: Uint8Array;
  /** (node, status) -> subtasks under the node with that status; row `count` is the whole tree. */
  #subCounts!: Int32Array;
  /** (node, status) -> direct children with that status, for roll-up. */
  #childCounts!: Int32Array;
  #childTotal!: Int32Array;
  /** Dependencies per node, CSR: targets are nodes, -1 for an id not in the backlog. */
  #depStart!: Int32Array;
  #depTarget!: Int32Array;
  #depName!: string[];
  /** Bit per execution position: set while that subtask is neither Complete nor Obsolete. */
  #unfinished!: Uint32Array;

  constructor(backlog: Backlog) {
    this.#build(backlog, 'createBacklogIndex');
  }

  get backlog(): Backlog {
    return this.#backlog;
  }

  get(id: string): BacklogItem | undefined {
    const node = this.#byId.get(checkId(id, 'get'));
    return node === undefined ? undefined : this.#flat.items[node];
  }

  has(id: string): boolean {
    return this.#byId.has(checkId(id, 'has'));
  }

  getParent(id: string): ContainerItem | undefined {
    const parent = this.#flat.parent[this.#node(id, 'getParent')]!;
    return parent < 0 ? undefined : (this.#flat.items[parent] as ContainerItem);
  }

  getChildren(id: string): readonly BacklogItem[] {
    return childArray(this.#flat.items[this.#node(id, 'getChildren')]!) ?? [];
  }

  ancestors(id: string): ContainerItem[] {
    const out: ContainerItem[] = [];
    const { parent, items } = this.#flat;
    for (let at = parent[this.#node(id, 'ancestors')]!; at >= 0; at = parent[at]!) {
      out.push(items[at] as ContainerItem);
    }
    return out;
  }

  pathOf(id: string): IssuePath {
    return nodePath(this.#flat, this.#node(id, 'pathOf'));
  }

  subtasks(scope?: string): Subtask[] {
    const [start, end] = this.#range(scope, 'subtasks');
    const { order, items } = this.#flat;
    const out: Subtask[] = new Array(end - start);
    for (let p = start; p < end; p++) out[p - start] = items[order[p]!] as Subtask;
    return out;
  }

  isDone(id: string): boolean {
    return this.#isDone(this.#node(id, 'isDone'));
  }

  isReady(id: string): boolean {
    const node = this.#node(id, 'isReady');
    if (this.#flat.level[node] !== 3) return this.nextReady({ scope: id }) !== undefined;
    return !this.#isDone(node) && this.#depsDone(node);
  }

  nextReady(options: NextReadyOptions = {}): Subtask | undefined {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`nextReady expected an options object, got ${describe(options)}`);
    }
    const { skip } = options;
    if (skip !== undefined && typeof skip !== 'function') {
      throw new TypeError(`options.skip must be a function, got ${describe(skip)}`);
    }
    const [start, end] = this.#range(options.scope, 'nextReady');
    const { order, items } = this.#flat;
    for (let p = this.#nextUnfinished(start, end); p < end; p = this.#nextUnfinished(p + 1, end)) {
      const node = order[p]!;
      const subtask = items[node] as Subtask;
      if (skip?.(subtask)) continue;
      if (this.#depsDone(node)) return subtask;
    }
    return undefined;
  }

  blockers(id: string): string[] {
    const node = this.#node(id, 'blockers');
    const out: string[] = [];
    for (let k = this.#depStart[node]!; k < this.#depStart[node + 1]!; k++) {
      const target = this.#depTarget[k]!;
      const name = this.#depName[k]!;
      if ((target < 0 || !this.#isDone(target)) && !out.includes(name)) out.push(name);
    }
    return out;
  }

  countByStatus(scope?: string): Record<Status, number> {
    const row = scope === undefined ? this.#flat.count : this.#node(scope, 'countByStatus');
    const out = {} as Record<Status, number>;
    if (row < this.#flat.count && this.#flat.level[row] === 3) {
      for (let s = 0; s < STATUS_COUNT; s++) out[STATUSES[s]!] = this.#status[row] === s ? 1 : 0;
      return out;
    }
    for (let s = 0; s < STATUS_COUNT; s++) {
      out[STATUSES[s]!] = this.#subCounts[row * STATUS_COUNT + s]!;
    }
    return out;
  }

  setStatus(id: string, status: Status, options: SetStatusOptions = {}): Backlog {
    const node = this.#node(id, 'setStatus');
    const next = STATUS_INDEX.get(status);
    if (next === undefined) {
      throw new TypeError(
        `setStatus expected a status (${STATUSES.join(', ')}), got ${describe(status)}`,
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`setStatus expected an options object, got ${describe(options)}`);
    }
    const rollUp = options.rollUp ?? true;
    if (typeof rollUp !== 'boolean') {
      throw new TypeError(`options.rollUp must be a boolean, got ${describe(rollUp)}`);
    }

    const { onChange } = options;
    if (onChange !== undefined && typeof onChange !== 'function') {
      throw new TypeError(`options.onChange must be a function, got ${describe(onChange)}`);
    }

    const { parent, ids } = this.#flat;
    // The changed nodes, item first (at most the item and its three ancestors).
    const changed: number[] = [];
    if (this.#status[node] !== next) {
      this.#apply(node, next);
      changed.push(node);
    }
    if (rollUp) {
      for (let at = parent[node]!; at >= 0; at = parent[at]!) {
        const derived = rollUpStatus(this.#childCounts, at * STATUS_COUNT, this.#childTotal[at]!);
        if (derived !== this.#status[at]) {
          this.#apply(at, derived);
          changed.push(at);
        }
      }
    }
    if (changed.length === 0) return this.#backlog;
    this.#copyPath(node);
    if (onChange) {
      for (const at of changed) onChange(ids[at]!, STATUSES[this.#status[at]!]!);
    }
    return this.#backlog;
  }

  setCurrentItemId(id: string | null): Backlog {
    if (id !== null) this.#node(id, 'setCurrentItemId');
    if (this.#backlog.currentItemId !== id || !('currentItemId' in this.#backlog)) {
      this.#backlog = { ...this.#backlog, currentItemId: id };
    }
    return this.#backlog;
  }

  replace(backlog: Backlog): void {
    this.#build(backlog, 'replace');
  }

  #build(backlog: Backlog, caller: string): void {
    if (typeof backlog !== 'object' || backlog === null || !Array.isArray(backlog.backlog)) {
      throw new TypeError(
        `${caller} expected a backlog object with a "backlog" array, got ${describe(backlog)}`,
      );
    }
    const flat = flattenBacklog(backlog);
    const { count, ids, items, parent, level } = flat;

    const byId = new Map<string, number>();
    const duplicates: BacklogIssue[] = [];
    const status = new Uint8Array(count);
    const badStatus: BacklogIssue[] = [];
    for (let node = 0; node < count; node++) {
      const id = ids[node]!;
      if (byId.has(id)) {
        duplicates.push({
          code: 'DUPLICATE_ID',
          severity: 'error',
          path: [...nodePath(flat, node), 'id'],
          itemId: id,
          message: `id ${JSON.stringify(id)} is used by more than one item; every id must be unique`,
        });
      } else {
        byId.set(id, node);
      }
      const s = STATUS_INDEX.get(items[node]!.status);
      if (s === undefined) {
        badStatus.push({
          code: 'INVALID_VALUE',
          severity: 'error',
          path: [...nodePath(flat, node), 'status'],
          itemId: id,
          message: `"status" of ${id} must be one of ${STATUSES.join(', ')}; got ${describe(items[node]!.status)}`,
        });
      } else {
        status[node] = s;
      }
    }
    if (badStatus.length > 0) throw new BacklogError('SCHEMA', { issues: badStatus });
    if (duplicates.length > 0) throw new BacklogError('GRAPH', { issues: duplicates });

    const subCounts = new Int32Array((count + 1) * STATUS_COUNT);
    const childCounts = new Int32Array(count * STATUS_COUNT);
    const childTotal = new Int32Array(count);
    const unfinished = new Uint32Array(Math.ceil(flat.subtaskCount / 32));
    const depStart = new Int32Array(count + 1);
    const depTarget: number[] = [];
    const depName: string[] = [];
    for (let node = 0; node < count; node++) {
      const s = status[node]!;
      const up = parent[node]!;
      if (up >= 0) {
        childCounts[up * STATUS_COUNT + s]!++;
        childTotal[up]!++;
      }
      depStart[node] = depTarget.length;
      if (level[node] !== 3) continue;
      subCounts[count * STATUS_COUNT + s]!++;
      for (let at = up; at >= 0; at = parent[at]!) subCounts[at * STATUS_COUNT + s]!++;
      if (s !== COMPLETE && s !== OBSOLETE) {
        const p = flat.subStart[node]!;
        unfinished[p >>> 5]! |= 1 << (p & 31);
      }
      for (const dep of (items[node] as Subtask).dependencies) {
        depTarget.push(byId.get(dep) ?? -1);
        depName.push(dep);
      }
    }
    depStart[count] = depTarget.length;

    this.#backlog = backlog;
    this.#flat = flat;
    this.#byId = byId;
    this.#status = status;
    this.#subCounts = subCounts;
    this.#childCounts = childCounts;
    this.#childTotal = childTotal;
    this.#unfinished = unfinished;
    this.#depStart = depStart;
    this.#depTarget = Int32Array.from(depTarget);
    this.#depName = depName;
  }

  #node(id: string, caller: string): number {
    const node = this.#byId.get(checkId(id, caller));
    if (node === undefined) {
      throw new BacklogError('UNKNOWN_ID', {
        itemId: id,
        message: `${caller}: no item has id ${JSON.stringify(id)}`,
      });
    }
    return node;
  }

  /** The execution positions [start, end) of the subtasks under a scope. */
  #range(scope: string | undefined, caller: string): [number, number] {
    if (scope === undefined) return [0, this.#flat.subtaskCount];
    const node = this.#node(scope, caller);
    return [this.#flat.subStart[node]!, this.#flat.subEnd[node]!];
  }

  #isDone(node: number): boolean {
    if (this.#flat.level[node] === 3) {
      const s = this.#status[node];
      return s === COMPLETE || s === OBSOLETE;
    }
    const row = node * STATUS_COUNT;
    const total = this.#flat.subEnd[node]! - this.#flat.subStart[node]!;
    return this.#subCounts[row + COMPLETE]! + this.#subCounts[row + OBSOLETE]! === total;
  }

  #depsDone(node: number): boolean {
    for (let k = this.#depStart[node]!; k < this.#depStart[node + 1]!; k++) {
      const target = this.#depTarget[k]!;
      if (target < 0 || !this.#isDone(target)) return false;
    }
    return true;
  }

  #nextUnfinished(from: number, end: number): number {
    if (from >= end) return end;
    const bits = this.#unfinished;
    let word = from >>> 5;
    let mask = bits[word]! & (-1 << (from & 31));
    for (;;) {
      if (mask !== 0) {
        const p = (word << 5) + 31 - Math.clz32(mask & -mask);
        return Math.min(p, end);
      }
      word++;
      if (word << 5 >= end) return end;
      mask = bits[word]!;
    }
  }

  /** Records a status change in every counter it affects: O(depth). */
  #apply(node: number, next: number): void {
    const { parent, level, subStart } = this.#flat;
    const prev = this.#status[node]!;
    this.#status[node] = next;
    const up = parent[node]!;
    if (up >= 0) {
      this.#childCounts[up * STATUS_COUNT + prev]!--;
      this.#childCounts[up * STATUS_COUNT + next]!++;
    }
    if (level[node] !== 3) return;
    const counts = this.#subCounts;
    const global = this.#flat.count * STATUS_COUNT;
    counts[global + prev]!--;
    counts[global + next]!++;
    for (let at = up; at >= 0; at = parent[at]!) {
      counts[at * STATUS_COUNT + prev]!--;
      counts[at * STATUS_COUNT + next]!++;
    }
    const p = subStart[node]!;
    if (next === COMPLETE || next === OBSOLETE) this.#unfinished[p >>> 5]! &= ~(1 << (p & 31));
    else this.#unfinished[p >>> 5]! |= 1 << (p & 31);
  }

  /**
   * Publishes a new snapshot in which every item on the path from the root to `node` whose status
   * (or whose child) changed is a fresh object, and everything else is the previous snapshot's own
   * object. Spreading keeps each object's key order, so the written file differs only in the
   * changed lines.
   */
  #copyPath(node: number): void {
    const { parent, level, pos, items } = this.#flat;
    let child = node;
    let copy = withStatus(items[node]!, STATUSES[this.#status[node]!]!);
    let replaced = copy !== items[node];
    items[node] = copy;
    for (let at = parent[node]!; at >= 0; at = parent[at]!) {
      const old = items[at]!;
      const status = STATUSES[this.#status[at]!]!;
      if (replaced) {
        const key = CHILD_KEYS[level[at]!]!;
        const children = (old as unknown as Record<string, BacklogItem[]>)[key]!.slice();
        children[pos[child]!] = copy;
        const fresh = { ...old, [key]: children } as BacklogItem;
        if (fresh.status !== status) fresh.status = status;
        copy = fresh;
      } else {
        copy = withStatus(old, status);
        replaced = copy !== old;
      }
      items[at] = copy;
      child = at;
    }
    if (!replaced) return;
    const phases = this.#backlog.backlog.slice();
    phases[pos[child]!] = copy as Backlog['backlog'][number];
    this.#backlog = { ...this.#backlog, backlog: phases };
  }
}

/** The item itself when its status already matches, else a copy with the new status. */
function withStatus(item: BacklogItem, status: Status): BacklogItem {
  return item.status === status ? item : ({ ...item, status } as BacklogItem);
}

function checkId(id: unknown, caller: string): string {
  if (typeof id !== 'string') {
    throw new TypeError(`${caller} expected an item id string, got ${describe(id)}`);
  }
  return id;
}
