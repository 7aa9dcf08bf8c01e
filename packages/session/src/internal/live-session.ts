import {
  type Backlog,
  type BacklogIndex,
  createBacklogIndex,
  type Status,
} from '@savepoint/task-schema';
import type { SessionMetadata } from '../sessions.ts';
import type { StatusChange } from '../store.ts';
import { resetInFlight } from './backlog.ts';
import { PendingChanges } from './changes.ts';

/**
 * The querying half of the task-schema index, as exposed by `SessionManager.index`. Its mutating
 * methods are left out so every change goes through the manager.
 */
export type ReadonlyBacklogIndex = Pick<
  BacklogIndex,
  | 'backlog'
  | 'get'
  | 'has'
  | 'getParent'
  | 'getChildren'
  | 'ancestors'
  | 'pathOf'
  | 'subtasks'
  | 'isDone'
  | 'isReady'
  | 'nextReady'
  | 'blockers'
  | 'countByStatus'
>;

/**
 * One open session in memory: its identity, the backlog index, and the changes made since the
 * last flush. Every change goes through here so it is both applied and recorded, in O(depth).
 */
export class LiveSession {
  readonly metadata: SessionMetadata;
  readonly prdSnapshot: string;
  readonly isNew: boolean;
  readonly index: BacklogIndex;
  readonly view: ReadonlyBacklogIndex;
  readonly pending = new PendingChanges();
  inFlight: readonly string[];

  constructor(init: {
    metadata: SessionMetadata;
    prdSnapshot: string;
    isNew: boolean;
    backlog: Backlog;
    inFlight: readonly string[];
  }) {
    this.metadata = init.metadata;
    this.prdSnapshot = init.prdSnapshot;
    this.isNew = init.isNew;
    this.inFlight = init.inFlight;
    this.index = createBacklogIndex(init.backlog);
    this.view = readonlyView(this.index);
  }

  /** The in-memory backlog as it is now. */
  get backlog(): Backlog {
    return this.index.backlog;
  }

  /**
   * Sets a status (the id and status already checked), recording the item and every ancestor the
   * roll-up changed. Returns whether anything changed.
   */
  setStatus(id: string, status: Status, rollUp: boolean): boolean {
    const changes: StatusChange[] = [];
    this.index.setStatus(id, status, {
      rollUp,
      onChange: (changedId, now) => changes.push({ id: changedId, status: now }),
    });
    if (changes.length === 0) return false;
    this.pending.setStatuses(changes, 1);
    return true;
  }

  /** Sets `currentItemId` (already checked); returns whether it changed. */
  setCurrent(id: string | null): boolean {
    if ((this.index.backlog.currentItemId ?? null) === id) return false;
    this.index.setCurrentItemId(id);
    this.pending.setCurrent(id);
    return true;
  }

  /** Returns in-flight items to rest, recording every status that changed; returns their ids. */
  recoverInFlight(): string[] {
    const before = new Map<string, Status>();
    for (const item of walk(this.index.backlog)) before.set(item.id, item.status);
    const ids = resetInFlight(this.index);
    this.inFlight = [];
    if (ids.length === 0) return ids;
    const changes: StatusChange[] = [];
    for (const item of walk(this.index.backlog)) {
      if (before.get(item.id) !== item.status) changes.push({ id: item.id, status: item.status });
    }
    this.pending.setStatuses(changes, ids.length);
    return ids;
  }

  /** Makes a validated backlog the whole state; pending changes are subsumed. */
  replace(backlog: Backlog): void {
    if (backlog !== this.index.backlog) this.index.replace(backlog);
    this.pending.clear();
  }
}

function* walk(backlog: Backlog): Generator<{ id: string; status: Status }> {
  for (const phase of backlog.backlog) {
    yield phase;
    for (const milestone of phase.milestones) {
      yield milestone;
      for (const task of milestone.tasks) {
        yield task;
        yield* task.subtasks;
      }
    }
  }
}

/** A view that forwards queries to `index` and has no way to change it. */
function readonlyView(index: BacklogIndex): ReadonlyBacklogIndex {
  return Object.freeze({
    get backlog() {
      return index.backlog;
    },
    get: (id: string) => index.get(id),
    has: (id: string) => index.has(id),
    getParent: (id: string) => index.getParent(id),
    getChildren: (id: string) => index.getChildren(id),
    ancestors: (id: string) => index.ancestors(id),
    pathOf: (id: string) => index.pathOf(id),
    subtasks: (scope?: string) => index.subtasks(scope),
    isDone: (id: string) => index.isDone(id),
    isReady: (id: string) => index.isReady(id),
    nextReady: (options?: Parameters<BacklogIndex['nextReady']>[0]) => index.nextReady(options),
    blockers: (id: string) => index.blockers(id),
    countByStatus: (scope?: string) => index.countByStatus(scope),
  });
}
