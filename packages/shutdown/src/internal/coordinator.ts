import type { ProcessLike, ShutdownReason } from '../types.ts';

/**
 * What the coordinator needs from a controller. Kept small and stable: copies of this package
 * loaded side by side (ESM and CJS builds) share one coordinator through a global registry, so
 * one copy's coordinator drives the other copy's controllers.
 */
export interface Member {
  /** The controller exits the process when its hooks finish (`exit: true`). */
  readonly wantsExit: boolean;
  readonly phase: 'idle' | 'running' | 'settled';
  /** A hook failed, timed out, the deadline passed, or an error arrived during the run. */
  readonly failed: boolean;
  /** The code this member would exit with now. */
  readonly currentExitCode: number | undefined;
  /** A process event this member listens to was emitted. */
  handle(event: string, args: unknown[]): void;
  /** The process is going to exit: start the shutdown with another member's reason. */
  join(reason: ShutdownReason): void;
  /** Another member forced the exit: run the force hooks and settle now. */
  forceNow(): void;
  /** The round ended without an exit: stop listening to the process. */
  release(): void;
}

/** One shutdown episode: the members that started while it was open. */
interface Round {
  readonly members: Member[];
  /** Set once a member with `exit: true` joins; the process will exit when all have settled. */
  exitReason: ShutdownReason | undefined;
  exitScheduled: boolean;
  forcing: boolean;
}

interface EventSlot {
  readonly listener: (...args: unknown[]) => void;
  readonly members: Set<Member>;
}

/**
 * One per process object. It adds a single listener per event however many controllers listen,
 * fans events out to them, and makes the process exit once, after every controller taking part
 * in the shutdown has finished its hooks.
 */
export class Coordinator {
  readonly #process: ProcessLike;
  readonly #live = new Set<Member>();
  readonly #events = new Map<string, EventSlot>();
  #round: Round | undefined;
  #exited = false;
  #eventSeq = 0;
  #currentEvent = 0;

  constructor(process: ProcessLike) {
    this.#process = process;
  }

  /**
   * An id for the event being dispatched, 0 outside a dispatch. A member started by another
   * member during a dispatch must not take that same event for a second signal.
   */
  get currentEvent(): number {
    return this.#currentEvent;
  }

  /** How many process listeners this coordinator holds (for tests and diagnostics). */
  get listenerCount(): number {
    return this.#events.size;
  }

  add(member: Member): void {
    this.#live.add(member);
    const round = this.#round;
    if (round?.exitReason !== undefined && !round.exitScheduled) member.join(round.exitReason);
  }

  remove(member: Member): void {
    this.#live.delete(member);
  }

  listen(member: Member, event: string): void {
    let slot = this.#events.get(event);
    if (slot === undefined) {
      const listener = (...args: unknown[]) => this.#dispatch(event, args);
      slot = { listener, members: new Set() };
      this.#events.set(event, slot);
      this.#process.on(event, listener);
    }
    slot.members.add(member);
  }

  unlisten(member: Member, event: string): void {
    const slot = this.#events.get(event);
    if (slot === undefined || !slot.members.delete(member) || slot.members.size > 0) return;
    this.#events.delete(event);
    this.#process.off(event, slot.listener);
  }

  /** A member began its shutdown. */
  started(member: Member, reason: ShutdownReason): void {
    let round = this.#round;
    if (round === undefined) {
      round = { members: [], exitReason: undefined, exitScheduled: false, forcing: false };
      this.#round = round;
    }
    round.members.push(member);
    if (!member.wantsExit || round.exitReason !== undefined) return;
    round.exitReason = reason;
    this.#provisionalExitCode(reason.code);
    // The process is going to exit, so every other controller gets to run its hooks first.
    for (const other of [...this.#live]) {
      if (other.phase === 'idle') other.join(reason);
    }
  }

  /** A member's run failed; the exit code, if the process exits, becomes 1. */
  failed(): void {
    if (this.#round?.exitReason !== undefined) this.#provisionalExitCode(1);
  }

  /**
   * A member settled. `immediate` means a second signal forced it: with `exit: true` the process
   * exits now, after the other running members' force hooks.
   */
  settled(member: Member, immediate: boolean): void {
    const round = this.#round;
    if (round === undefined || round.forcing) return;
    if (immediate && member.wantsExit) {
      this.#forceExit(round, member.currentExitCode ?? 1);
      return;
    }
    if (round.members.some((m) => m.phase === 'running')) return;
    if (round.exitReason === undefined) {
      this.#round = undefined;
      for (const m of round.members) {
        m.release();
        this.#live.delete(m);
      }
      return;
    }
    if (round.exitScheduled) return;
    round.exitScheduled = true;
    const code = exitCodeOf(round);
    // Let code awaiting `done` run its continuation before the process goes.
    setImmediate(() => this.#exit(code));
  }

  /** A signal reached a settled member while the process waits to exit. */
  secondSignal(code: number): void {
    const round = this.#round;
    if (round?.exitReason === undefined || round.forcing) return;
    this.#forceExit(round, code);
  }

  #forceExit(round: Round, code: number): void {
    round.forcing = true;
    for (const m of round.members) {
      if (m.phase === 'running') m.forceNow();
    }
    this.#exit(code);
  }

  #dispatch(event: string, args: unknown[]): void {
    const slot = this.#events.get(event);
    if (slot === undefined) return;
    const outer = this.#currentEvent;
    this.#currentEvent = ++this.#eventSeq;
    try {
      for (const member of [...slot.members]) {
        if (slot.members.has(member)) member.handle(event, args);
      }
    } finally {
      this.#currentEvent = outer;
    }
  }

  #provisionalExitCode(code: number): void {
    // If the event loop drains before the hooks finish, Node still exits with the right code.
    if (!this.#exited) this.#process.exitCode = code;
  }

  #exit(code: number): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#process.exitCode = code;
    this.#process.exit(code);
  }
}

const REGISTRY = Symbol.for('@savepoint/shutdown.coordinators.v1');

/** The coordinator of `process`, made on first use and shared by every copy of this package. */
export function coordinatorFor(process: ProcessLike): Coordinator {
  const holder = globalThis as { [REGISTRY]?: WeakMap<ProcessLike, Coordinator> };
  let registry = holder[REGISTRY];
  if (registry === undefined) {
    registry = new WeakMap();
    Object.defineProperty(globalThis, REGISTRY, { value: registry, configurable: true });
  }
  let coordinator = registry.get(process);
  if (coordinator === undefined) {
    coordinator = new Coordinator(process);
    registry.set(process, coordinator);
  }
  return coordinator;
}

function exitCodeOf(round: Round): number {
  if (round.members.some((m) => m.failed)) return 1;
  const leader = round.members.find((m) => m.wantsExit);
  return leader?.currentExitCode ?? round.exitReason?.code ?? 1;
}
