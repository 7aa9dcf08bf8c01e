import { ProgressError } from './errors.ts';
import { describeValue } from './internal/describe.ts';
import { GapEstimator } from './internal/rate.ts';

/** Declared size of a group, for {@link ProgressTrackerOptions.groups}. */
export interface GroupInit {
  /** Items in the group, including those finished before this run. */
  total: number;
  /** Items of the group completed before this run. @default 0 */
  completed?: number;
  /** Items of the group that failed before this run. @default 0 */
  failed?: number;
  /** A human name shown next to the group id. */
  title?: string;
}

/**
 * Maps an item id to the groups it belongs to (none, one or several). See {@link prefixGroups}
 * for the dotted-id hierarchy (`P1.M2.T3.S4` belongs to `P1` and `P1.M2`).
 */
export type GroupOf = (id: string) => string | readonly string[] | null | undefined;

/** Options for {@link ProgressTracker}. */
export interface ProgressTrackerOptions {
  /** Items in the whole run, including any finished before this run. */
  total: number;
  /**
   * Items already completed before this run (a resume). They count toward `completed` and
   * `percentage` but never toward the rate: only finishes seen by this tracker are timed.
   * @default 0
   */
  completed?: number;
  /** Items that had already failed before this run. @default 0 */
  failed?: number;
  /**
   * Milliseconds clock. Inject one in tests; it must never go backwards.
   * @default performance.now
   */
  clock?: () => number;
  /**
   * How quickly old samples lose influence: a sample taken `halfLifeMs` ago weighs half as much
   * as one taken now. Shorter reacts faster to a change of pace, longer is steadier.
   * @default 300_000 (5 minutes)
   */
  halfLifeMs?: number;
  /** Finishes in this run needed before `etaMs` is given. @default 3 */
  minSamples?: number;
  /**
   * Groups whose size is known up front, keyed by group id, in display order. Items join them
   * through `groupOf` or the `group` field of {@link ItemInfo}.
   */
  groups?: Readonly<Record<string, GroupInit>>;
  /** Derives an item's groups from its id when a call does not name them. */
  groupOf?: GroupOf;
}

/** Extra facts about an item, accepted by every item method. */
export interface ItemInfo {
  /** Human-readable title shown next to the id. */
  title?: string;
  /**
   * Group or groups the item belongs to; overrides `groupOf` for this item. Groups can be added
   * while the item is unfinished; once it is finished its groups no longer change.
   */
  group?: string | readonly string[];
}

/** The item a display should name: the most recently started one still in flight. */
export interface CurrentItem {
  id: string;
  title?: string;
}

/** Counts for one group. */
export interface GroupProgress {
  id: string;
  title?: string;
  total: number;
  completed: number;
  failed: number;
  /** Items of this group in flight. */
  active: number;
  /** `total - completed - failed`. */
  remaining: number;
  /** `completed / total * 100`; 100 for an empty group. */
  percentage: number;
}

/** A snapshot of a run, as returned by {@link ProgressTracker.getProgress}. */
export interface Progress {
  /**
   * Items in the run. Never less than the items the tracker has seen completed, failed or in
   * flight, so `remaining` is never negative.
   */
  total: number;
  /** Completed items, including those completed before this run. */
  completed: number;
  /** Failed items, including those that failed before this run and have not been retried. */
  failed: number;
  /** Items removed from the total by {@link ProgressTracker.skip} in this run. */
  skipped: number;
  /** Items started and not yet finished. */
  active: number;
  /** `total - completed - failed`: what is left, in-flight items included. */
  remaining: number;
  /** `completed / total * 100`, between 0 and 100; 100 when `total` is 0. */
  percentage: number;
  /** Milliseconds since the tracker was created. */
  elapsedMs: number;
  /** Items finished (completed or failed) in this run: the samples behind the rate. */
  samples: number;
  /** Estimated milliseconds per item; `null` before the first finish of this run. */
  msPerItem: number | null;
  /** `60000 / msPerItem`; 0 while there is no estimate. */
  ratePerMinute: number;
  /**
   * `remaining * msPerItem`; `null` until `minSamples` items finished in this run; 0 once
   * nothing remains.
   */
  etaMs: number | null;
  /** The most recently started item still in flight. */
  current?: CurrentItem;
  /** Per-group counts, in declaration then first-seen order; absent when there are no groups. */
  groups?: GroupProgress[];
}

/** Payload of the item events (`start`, `complete`, `fail`, `skip`). */
export interface ItemEvent {
  id: string;
  title?: string;
  groups: readonly string[];
  /** The state right after the change. */
  progress: Progress;
}

/** Event names and their payloads. */
export interface ProgressEventMap {
  /** Any change of the counts, the total, the current item or a title. */
  progress: Progress;
  start: ItemEvent;
  complete: ItemEvent;
  fail: ItemEvent;
  skip: ItemEvent;
  /** `remaining` dropped to 0. */
  done: Progress;
}

/** One of the events a tracker announces. */
export type ProgressEventName = keyof ProgressEventMap;

/** A subscriber for event `E`. */
export type ProgressListener<E extends ProgressEventName> = (payload: ProgressEventMap[E]) => void;

/**
 * Anything a renderer can draw: a {@link ProgressTracker}, or an adapter around another source.
 */
export interface ProgressSource {
  getProgress(): Progress;
  on<E extends ProgressEventName>(event: E, listener: ProgressListener<E>): () => void;
}

/**
 * Counts, rate and ETA of a run of items.
 *
 * Each item moves from pending to in flight (`start`) to completed, failed or skipped.
 * Completing twice is a no-op, so two sources reporting the same item count it once; a failed
 * item may be started again (a retry) or completed directly.
 *
 * Rate and ETA: every finish (complete or fail) in this run is a sample, the time since the
 * previous finish (the first sample starts at the first `start`, or at construction when nothing
 * was started). A sample taken `a` ms ago weighs `2^(-a / halfLifeMs)`; `msPerItem` is the
 * weighted mean. While nothing finishes, the time since the last finish counts as one more
 * sample of weight 1 once it exceeds that mean, so a long idle period raises `msPerItem` and
 * lowers the rate continuously (not once nothing remains: a finished run keeps its last
 * estimate). `etaMs = remaining * msPerItem`. Reading never changes anything.
 *
 * @example
 * ```ts
 * const tracker = new ProgressTracker({ total: 82, completed: 40, groupOf: prefixGroups({ levels: 2 }) });
 * tracker.on('complete', ({ id, progress }) => log(`${id} done, ${progress.remaining} left`));
 * tracker.start('P1.M2.T1.S3', { title: 'Write the parser' });
 * tracker.complete('P1.M2.T1.S3');
 * summaryLine(tracker.getProgress()); // 'Progress: 41/82 complete (50.0%), 0 failed, 41 remaining'
 * ```
 */
export class ProgressTracker implements ProgressSource {
  readonly #clock: () => number;
  readonly #minSamples: number;
  readonly #groupOf: GroupOf | undefined;
  readonly #estimator: GapEstimator;
  readonly #createdAt: number;
  readonly #items = new Map<string, ItemRecord>();
  /** In-flight ids in start order; the last one is the current item. */
  readonly #active = new Set<string>();
  readonly #groups = new Map<string, GroupRecord>();
  readonly #listeners = new Map<ProgressEventName, Set<(payload: never) => void>>();
  #total: number;
  #completed: number;
  #failed: number;
  #skipped = 0;
  /** Whether `done` was announced for the current stretch of `remaining === 0`. */
  #isDoneAnnounced: boolean;

  constructor(options: ProgressTrackerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `ProgressTracker: expected an options object, got ${describeValue(options)}`,
      );
    }
    this.#total = count('total', options.total);
    this.#completed = count('completed', options.completed ?? 0);
    this.#failed = count('failed', options.failed ?? 0);
    if (this.#completed + this.#failed > this.#total) {
      throw new TypeError(
        `ProgressTracker: expected completed + failed <= total, got ${this.#completed} + ${this.#failed} > ${this.#total}`,
      );
    }
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new TypeError(
        `ProgressTracker: expected clock to be a function, got ${describeValue(options.clock)}`,
      );
    }
    const halfLifeMs = options.halfLifeMs ?? 300_000;
    if (typeof halfLifeMs !== 'number' || !Number.isFinite(halfLifeMs) || halfLifeMs <= 0) {
      throw new TypeError(
        `ProgressTracker: expected halfLifeMs to be a finite number > 0, got ${describeValue(halfLifeMs)}`,
      );
    }
    const minSamples = options.minSamples ?? 3;
    if (!Number.isInteger(minSamples) || minSamples < 1) {
      throw new TypeError(
        `ProgressTracker: expected minSamples to be an integer >= 1, got ${describeValue(minSamples)}`,
      );
    }
    if (options.groupOf !== undefined && typeof options.groupOf !== 'function') {
      throw new TypeError(
        `ProgressTracker: expected groupOf to be a function, got ${describeValue(options.groupOf)}`,
      );
    }
    this.#clock = options.clock ?? defaultClock;
    this.#minSamples = minSamples;
    this.#groupOf = options.groupOf;
    this.#estimator = new GapEstimator(halfLifeMs);
    if (
      options.groups !== undefined &&
      (typeof options.groups !== 'object' || options.groups === null)
    ) {
      throw new TypeError(
        `ProgressTracker: expected groups to be an object of { total }, got ${describeValue(options.groups)}`,
      );
    }
    for (const [id, init] of Object.entries(options.groups ?? {})) this.#declareGroup(id, init);
    this.#createdAt = this.#now();
    this.#isDoneAnnounced = this.#remaining() === 0;
  }

  /**
   * Marks an item as in flight and makes it the current item. Starting an item that is already
   * in flight only updates its title and groups; starting a failed item retries it (it leaves
   * `failed`).
   * @returns whether anything changed.
   * @throws TypeError when the item was already completed or skipped.
   */
  start(id: string, info?: ItemInfo): boolean {
    const now = this.#now();
    const item = this.#item('start', id, info);
    if (item.state === 'completed' || item.state === 'skipped') {
      throw new TypeError(
        `ProgressTracker.start: expected an unfinished or failed item, got ${item.state} item "${id}"`,
      );
    }
    const changed = this.#applyInfo(item, info);
    if (item.state === 'active') {
      if (changed) this.#emit(id, item, undefined);
      return changed;
    }
    if (item.state === 'failed') this.#adjust(item, 'failed', -1);
    item.state = 'active';
    this.#adjust(item, 'active', 1);
    this.#active.add(id);
    this.#estimator.anchor(now);
    this.#emit(id, item, 'start');
    return true;
  }

  /**
   * Marks an item as completed, whether or not it was started. Completing it again is a no-op,
   * so the same item reported twice is counted once. A failed item may be completed (its failure
   * is withdrawn).
   * @returns whether anything changed.
   * @throws TypeError when the item was skipped.
   */
  complete(id: string, info?: ItemInfo): boolean {
    const now = this.#now();
    const item = this.#item('complete', id, info);
    if (item.state === 'skipped') {
      throw new TypeError(
        `ProgressTracker.complete: expected an item that was not skipped, got skipped item "${id}"`,
      );
    }
    if (item.state === 'completed') return false;
    this.#applyInfo(item, info);
    if (item.state === 'failed') {
      this.#adjust(item, 'failed', -1);
    } else {
      this.#leaveActive(item, id);
      this.#estimator.record(now, this.#createdAt);
    }
    item.state = 'completed';
    this.#adjust(item, 'completed', 1);
    this.#emit(id, item, 'complete');
    return true;
  }

  /**
   * Marks an item as failed. Failed items count as finished: they leave `remaining` and their
   * time counts toward the rate. Failing it again is a no-op.
   * @returns whether anything changed.
   * @throws TypeError when the item was completed or skipped.
   */
  fail(id: string, info?: ItemInfo): boolean {
    const now = this.#now();
    const item = this.#item('fail', id, info);
    if (item.state === 'completed' || item.state === 'skipped') {
      throw new TypeError(
        `ProgressTracker.fail: expected an unfinished item, got ${item.state} item "${id}"`,
      );
    }
    if (item.state === 'failed') return false;
    this.#applyInfo(item, info);
    this.#leaveActive(item, id);
    this.#estimator.record(now, this.#createdAt);
    item.state = 'failed';
    this.#adjust(item, 'failed', 1);
    this.#emit(id, item, 'fail');
    return true;
  }

  /**
   * Removes an item from the total: use it for work that will not be done in this run (made
   * obsolete by a changed spec, or blocked by a failed dependency). The total and the item's
   * groups shrink by one; a failed item also leaves `failed`. Skipping takes no sample, but the
   * time it took still belongs to the gap before the next finish. Skipping again is a no-op.
   * @returns whether anything changed.
   * @throws TypeError when the item was completed.
   */
  skip(id: string, info?: ItemInfo): boolean {
    const item = this.#item('skip', id, info);
    if (item.state === 'completed') {
      throw new TypeError(
        `ProgressTracker.skip: expected an item that was not completed, got completed item "${id}"`,
      );
    }
    if (item.state === 'skipped') return false;
    this.#applyInfo(item, info);
    if (item.state === 'failed') this.#adjust(item, 'failed', -1);
    this.#leaveActive(item, id);
    item.state = 'skipped';
    this.#adjust(item, 'skipped', 1);
    this.#emit(id, item, 'skip');
    return true;
  }

  /**
   * Replaces the total (work was discovered or the backlog changed). Skips made earlier are not
   * subtracted again: `n` is the new size of the whole run, finished items included.
   */
  setTotal(n: number): void {
    const total = count('total', n);
    if (total === this.#total) return;
    this.#total = total;
    this.#emit(undefined, undefined, undefined);
  }

  /**
   * Declares or resizes a group. `completed` and `failed` in `init`, when given, replace the
   * counts carried over from before this run; counts from this run are kept.
   */
  setGroupTotal(group: string, init: GroupInit | number): void {
    this.#declareGroup(group, typeof init === 'number' ? { total: init } : init);
    this.#emit(undefined, undefined, undefined);
  }

  /** The state of the run now. Pure: reading never changes the estimate. */
  getProgress(): Progress {
    const now = this.#now();
    const completed = this.#completed;
    const failed = this.#failed;
    const active = this.#active.size;
    const total = Math.max(this.#total, completed + failed + active);
    const remaining = total - completed - failed;
    // A finished run is idle because it is done, not because it is slow: freeze the estimate.
    const msPerItem = this.#estimator.msPerItem(now, remaining > 0);
    const samples = this.#estimator.samples;
    let etaMs: number | null = null;
    if (remaining === 0) etaMs = 0;
    else if (samples >= this.#minSamples && msPerItem !== null && msPerItem > 0) {
      etaMs = remaining * msPerItem;
    }
    const progress: Progress = {
      total,
      completed,
      failed,
      skipped: this.#skipped,
      active,
      remaining,
      percentage: total === 0 ? 100 : (completed / total) * 100,
      elapsedMs: Math.max(0, now - this.#createdAt),
      samples,
      msPerItem,
      ratePerMinute: msPerItem !== null && msPerItem > 0 ? 60_000 / msPerItem : 0,
      etaMs,
    };
    const current = this.#current();
    if (current !== undefined) progress.current = current;
    if (this.#groups.size > 0) {
      progress.groups = [...this.#groups].map(([id, group]) => groupProgress(id, group));
    }
    return progress;
  }

  /**
   * Subscribes to an event. Listeners run synchronously after the change, in subscription order;
   * if any throws, the others still run and the method that made the change throws a
   * {@link ProgressError} with code `LISTENER_FAILED` afterwards.
   * @returns a function that unsubscribes.
   */
  on<E extends ProgressEventName>(event: E, listener: ProgressListener<E>): () => void {
    checkEvent('on', event);
    if (typeof listener !== 'function') {
      throw new TypeError(
        `ProgressTracker.on: expected a listener function, got ${describeValue(listener)}`,
      );
    }
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  /** Unsubscribes a listener added with {@link ProgressTracker.on}; unknown listeners are ignored. */
  off<E extends ProgressEventName>(event: E, listener: ProgressListener<E>): void {
    checkEvent('off', event);
    this.#listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  #now(): number {
    const now = this.#clock();
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      throw new TypeError(
        `ProgressTracker: expected clock() to return a finite number, got ${describeValue(now)}`,
      );
    }
    return now;
  }

  #item(method: string, id: string, info: ItemInfo | undefined): ItemRecord {
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(
        `ProgressTracker.${method}: expected a non-empty string id, got ${describeValue(id)}`,
      );
    }
    checkInfo(method, info);
    const known = this.#items.get(id);
    if (known !== undefined) return known;
    const item: ItemRecord = { state: 'pending', title: undefined, groups: [] };
    const derived = info?.group === undefined ? toGroupList(this.#groupOf?.(id)) : [];
    for (const group of derived) this.#join(item, group);
    this.#items.set(id, item);
    return item;
  }

  /** Applies a title and groups; returns whether either changed. */
  #applyInfo(item: ItemRecord, info: ItemInfo | undefined): boolean {
    let changed = false;
    if (info?.title !== undefined && info.title !== item.title) {
      item.title = info.title;
      changed = true;
    }
    if (info?.group !== undefined) {
      for (const group of toGroupList(info.group)) {
        if (!item.groups.includes(group)) {
          this.#join(item, group);
          changed = true;
        }
      }
    }
    return changed;
  }

  /** Adds the item to a group, creating undeclared groups with a total that grows as items join. */
  #join(item: ItemRecord, groupId: string): void {
    if (item.groups.includes(groupId)) return;
    let group = this.#groups.get(groupId);
    if (group === undefined) {
      group = emptyGroup(false);
      this.#groups.set(groupId, group);
    }
    if (!group.declared) group.total += 1;
    item.groups.push(groupId);
    const field = stateField(item.state);
    if (field !== undefined) group[field] += 1;
  }

  #declareGroup(id: string, init: GroupInit): void {
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(
        `ProgressTracker: expected a non-empty group id, got ${describeValue(id)}`,
      );
    }
    if (typeof init !== 'object' || init === null) {
      throw new TypeError(
        `ProgressTracker: expected group "${id}" to be { total }, got ${describeValue(init)}`,
      );
    }
    const total = count(`groups["${id}"].total`, init.total);
    let group = this.#groups.get(id);
    if (group === undefined) {
      group = emptyGroup(true);
      this.#groups.set(id, group);
    }
    const before = {
      completed:
        init.completed === undefined
          ? group.completedBefore
          : count(`groups["${id}"].completed`, init.completed),
      failed:
        init.failed === undefined
          ? group.failedBefore
          : count(`groups["${id}"].failed`, init.failed),
    };
    if (before.completed + before.failed > total) {
      throw new TypeError(
        `ProgressTracker: expected completed + failed <= total for group "${id}", got ${before.completed} + ${before.failed} > ${total}`,
      );
    }
    group.completed += before.completed - group.completedBefore;
    group.failed += before.failed - group.failedBefore;
    group.completedBefore = before.completed;
    group.failedBefore = before.failed;
    group.total = total;
    group.declared = true;
    if (init.title !== undefined) {
      if (typeof init.title !== 'string') {
        throw new TypeError(
          `ProgressTracker: expected the title of group "${id}" to be a string, got ${describeValue(init.title)}`,
        );
      }
      group.title = init.title;
    }
  }

  #leaveActive(item: ItemRecord, id: string): void {
    if (item.state !== 'active') return;
    this.#active.delete(id);
    this.#adjust(item, 'active', -1);
  }

  /** Moves the run and the item's groups by `delta` in one counter. */
  #adjust(
    item: ItemRecord,
    field: 'active' | 'completed' | 'failed' | 'skipped',
    delta: number,
  ): void {
    if (field === 'completed') this.#completed += delta;
    else if (field === 'failed') this.#failed += delta;
    else if (field === 'skipped') {
      this.#skipped += delta;
      this.#total = Math.max(0, this.#total - delta);
    }
    for (const groupId of item.groups) {
      const group = this.#groups.get(groupId)!;
      group[field] += delta;
      if (field === 'skipped') group.total = Math.max(0, group.total - delta);
    }
  }

  #current(): CurrentItem | undefined {
    let last: string | undefined;
    for (const id of this.#active) last = id;
    if (last === undefined) return undefined;
    const title = this.#items.get(last)?.title;
    return title === undefined ? { id: last } : { id: last, title };
  }

  #remaining(): number {
    const finished = this.#completed + this.#failed;
    return Math.max(this.#total, finished + this.#active.size) - finished;
  }

  #emit(
    id: string | undefined,
    item: ItemRecord | undefined,
    event: ItemEventName | undefined,
  ): void {
    // The done flag is kept current even without listeners, so a late subscriber is not told
    // about a stretch that began before it subscribed.
    let announceDone = false;
    if (this.#remaining() > 0) this.#isDoneAnnounced = false;
    else if (!this.#isDoneAnnounced) {
      this.#isDoneAnnounced = true;
      announceDone = true;
    }
    const names: ProgressEventName[] = [];
    if (event !== undefined) names.push(event);
    names.push('progress');
    if (announceDone) names.push('done');
    if (names.every((name) => (this.#listeners.get(name)?.size ?? 0) === 0)) return;
    const progress = this.getProgress();
    const errors: { event: ProgressEventName; error: unknown }[] = [];
    for (const name of names) {
      let payload: unknown = progress;
      if (name === event && id !== undefined && item !== undefined) {
        const itemEvent: ItemEvent = { id, groups: [...item.groups], progress };
        if (item.title !== undefined) itemEvent.title = item.title;
        payload = itemEvent;
      }
      for (const listener of [...(this.#listeners.get(name) ?? [])]) {
        try {
          (listener as (payload: unknown) => void)(payload);
        } catch (error) {
          errors.push({ event: name, error });
        }
      }
    }
    if (errors.length === 0) return;
    const first = errors[0]!;
    const where = id === undefined ? '' : ` for "${id}"`;
    throw new ProgressError(
      'LISTENER_FAILED',
      `${errors.length} listener(s) failed while announcing "${first.event}"${where}`,
      {
        id,
        source: first.event,
        cause:
          errors.length === 1
            ? first.error
            : new AggregateError(
                errors.map((entry) => entry.error),
                'several progress listeners failed',
              ),
      },
    );
  }
}

type ItemState = 'pending' | 'active' | 'completed' | 'failed' | 'skipped';
type ItemEventName = 'start' | 'complete' | 'fail' | 'skip';

interface ItemRecord {
  state: ItemState;
  title: string | undefined;
  groups: string[];
}

interface GroupRecord {
  declared: boolean;
  title: string | undefined;
  total: number;
  completed: number;
  failed: number;
  active: number;
  skipped: number;
  completedBefore: number;
  failedBefore: number;
}

const EVENTS: ReadonlySet<string> = new Set<ProgressEventName>([
  'progress',
  'start',
  'complete',
  'fail',
  'skip',
  'done',
]);

function defaultClock(): number {
  return performance.now();
}

function emptyGroup(declared: boolean): GroupRecord {
  return {
    declared,
    title: undefined,
    total: 0,
    completed: 0,
    failed: 0,
    active: 0,
    skipped: 0,
    completedBefore: 0,
    failedBefore: 0,
  };
}

function groupProgress(id: string, group: GroupRecord): GroupProgress {
  const total = Math.max(group.total, group.completed + group.failed + group.active);
  const result: GroupProgress = {
    id,
    total,
    completed: group.completed,
    failed: group.failed,
    active: group.active,
    remaining: total - group.completed - group.failed,
    percentage: total === 0 ? 100 : (group.completed / total) * 100,
  };
  if (group.title !== undefined) result.title = group.title;
  return result;
}

function stateField(state: ItemState): 'active' | 'completed' | 'failed' | 'skipped' | undefined {
  return state === 'pending' ? undefined : state;
}

function toGroupList(value: string | readonly string[] | null | undefined): readonly string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string' && value.length > 0) return [value];
  if (
    Array.isArray(value) &&
    value.every((entry) => typeof entry === 'string' && entry.length > 0)
  ) {
    return value;
  }
  throw new TypeError(
    `ProgressTracker: expected a non-empty group id or an array of them, got ${describeValue(value)}`,
  );
}

function checkInfo(method: string, info: ItemInfo | undefined): void {
  if (info === undefined) return;
  if (typeof info !== 'object' || info === null) {
    throw new TypeError(
      `ProgressTracker.${method}: expected info to be an object, got ${describeValue(info)}`,
    );
  }
  if (info.title !== undefined && typeof info.title !== 'string') {
    throw new TypeError(
      `ProgressTracker.${method}: expected title to be a string, got ${describeValue(info.title)}`,
    );
  }
}

function checkEvent(method: string, event: string): void {
  if (!EVENTS.has(event)) {
    throw new TypeError(
      `ProgressTracker.${method}: expected one of ${[...EVENTS].join(', ')}, got ${describeValue(event)}`,
    );
  }
}

function count(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(
      `ProgressTracker: expected ${name} to be an integer >= 0, got ${describeValue(value)}`,
    );
  }
  return value;
}
