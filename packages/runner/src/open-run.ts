import {
  carryOverComplete,
  readSession,
  SessionManager,
  type SessionState,
  type SessionStore,
  type SessionSummary,
} from '@savepoint/session';
import { type Backlog, createBacklogIndex } from '@savepoint/task-schema';
import { RunnerError } from './errors.ts';
import {
  formatRunConfig,
  mergeRunConfig,
  RUN_CONFIG_FILE,
  type RunConfig,
  type RunConfigInput,
  readRunConfig,
} from './run-config.ts';

/** Options of {@link resolveRunConfig}. */
export interface ResolveRunConfigOptions {
  /**
   * Whether a worker other than a command does the work (a function, `simulatedWorker`), so the
   * configuration needs no `exec`.
   *
   * @default false
   */
  readonly hasWorker?: boolean;
}

/**
 * The configuration a run uses: `stored` (the session's `run.json`) with `given` laid over it
 * (see {@link mergeRunConfig}), refused when nothing would do the work.
 *
 * @example
 * const config = resolveRunConfig(await readRunConfig(dir), { exec: undefined, retries: 5 });
 * @throws RunnerError `NO_WORKER` when neither the result has an `exec` nor `hasWorker` is set
 */
export function resolveRunConfig(
  stored: RunConfig,
  given: RunConfigInput,
  options: ResolveRunConfigOptions = {},
): RunConfig {
  const config = mergeRunConfig(stored, given);
  if (config.exec === undefined && options.hasWorker !== true) {
    throw new RunnerError(
      'NO_WORKER',
      'no worker: the session stores no worker command and none was given',
    );
  }
  return config;
}

/** Options of {@link openRun}. */
export interface OpenRunOptions extends ResolveRunConfigOptions {
  /** The run configuration given now, laid over the stored one. @default {} */
  readonly given?: RunConfigInput;
  /**
   * An existing session to resume (as `pickSession` finds it). Without it the session of the
   * manager's PRD is opened: resumed, created as a delta of the latest session, or created.
   */
  readonly session?: SessionSummary;
  /** The PRD's text or exact bytes, to find its session; required without `session`. */
  readonly prd?: string | Uint8Array;
  /**
   * The backlog of a new session. Called at most once, and only when a session has to be
   * created, before anything is written, so a planner that fails leaves no session behind.
   * Required without `session`.
   */
  backlog?(): Backlog | Promise<Backlog>;
  /** Told when the PRD already has a session, before it is opened (a given backlog is unused). */
  onExisting?(session: SessionSummary): void;
  /**
   * Reads a session's stored run configuration.
   *
   * @default (session) => readRunConfig(session.path), the file store's `run.json`
   */
  readConfig?(session: SessionSummary): Promise<RunConfig>;
  /** Aborts waiting for another process creating a session in the same store. */
  readonly signal?: AbortSignal;
}

/** What {@link openRun} opened. */
export interface OpenedRun {
  /** The open session (held by the manager until `close()`). */
  readonly state: SessionState;
  /** The configuration to run it with, as now stored in its `run.json`. */
  readonly config: RunConfig;
  /**
   * Subtasks of a new delta session marked Complete because the parent had done the same work
   * (see `carryOverComplete`); empty otherwise.
   */
  readonly carried: readonly string[];
}

/**
 * Opens the session a run works, in any store, and stores how it is run. Everything that can fail
 * on bad input happens before anything is written: the stored configuration is read and the
 * given one laid over it ({@link resolveRunConfig}), a new session's backlog is planned and the
 * scope checked against it. Then the session is opened with the manager: `options.session`, or
 * the PRD's session (resumed; or created, a delta session carrying over the parent's Complete
 * subtasks). The scope is checked against the open backlog and the configuration written as the
 * session's `run.json` artifact. On a failure after opening, the session is closed again.
 *
 * @example
 * const manager = new SessionManager({ prdPath: 'PRD.md', planDir: 'plan' });
 * const { config } = await openRun(manager, {
 *   prd: await readFile('PRD.md'),
 *   given: { exec: 'make item' },
 *   backlog: () => planFrom('PRD.md'),
 * });
 * const runner = createRunner({ session: manager, worker: commandWorker(config.exec!) });
 * @throws RunnerError `NO_WORKER` (no command and `hasWorker` unset), `UNKNOWN_SCOPE` (the scope
 *   names no item of the backlog), `INVALID_CONFIG` (a stored `run.json` that is not one), `IO`;
 *   SessionError from opening the session (`LOCKED`, ...); what `backlog()` throws
 * @throws TypeError without `session`, when `prd` or `backlog` is missing
 */
export async function openRun(
  manager: SessionManager,
  options: OpenRunOptions,
): Promise<OpenedRun> {
  const { session, prd, backlog } = options;
  if (session === undefined && (prd === undefined || typeof backlog !== 'function')) {
    throw new TypeError('openRun expected either a session, or the prd and a backlog function');
  }
  const readConfig = options.readConfig ?? ((found) => readRunConfig(found.path));
  const existing = session ?? (await manager.findSessionByPRD(prd!));
  const config = resolveRunConfig(
    existing ? await readConfig(existing) : {},
    options.given ?? {},
    options,
  );
  let planned: Backlog | undefined;
  if (!existing) {
    planned = await backlog!();
    requireScope(planned, config.scope);
  } else if (session === undefined) {
    options.onExisting?.(existing);
  }
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  let carried: string[] = [];
  const state = session
    ? await manager.loadSession(session.path, signal)
    : await manager.initialize({
        ...signal,
        backlog: async ({ parent }) => {
          // The session found above is gone: plan now.
          planned ??= await backlog!();
          if (!parent) return planned;
          const carry = carryOverComplete(planned, parent.backlog);
          carried = carry.carried;
          return carry.backlog;
        },
      });
  try {
    requireScope(state.taskRegistry, config.scope);
    await manager.writeArtifact(RUN_CONFIG_FILE, formatRunConfig(config));
  } catch (error) {
    await manager.close().catch(() => undefined);
    throw error;
  }
  return { state, config, carried };
}

/** Options of {@link previewRun}. */
export interface PreviewRunOptions {
  /** The PRD's text or exact bytes. */
  readonly prd: string | Uint8Array;
  /** The backlog a new session would get; called only when the PRD has no session. */
  backlog(): Backlog | Promise<Backlog>;
}

/** What {@link previewRun} found. */
export interface RunPreview {
  /** The session a run would resume, or `null` when it would create one. */
  readonly session: SessionSummary | null;
  /** The latest session, parent of the delta session a run would create; else `null`. */
  readonly parent: SessionSummary | null;
  /** The backlog the run would work: the session's, or the new one with `carried` applied. */
  readonly backlog: Backlog;
  /** Subtasks the delta session would carry over from `parent` as Complete. */
  readonly carried: readonly string[];
}

/**
 * What {@link openRun} would open for a PRD, found without writing or locking anything: the
 * PRD's session and its backlog, or the backlog of the session it would create (first, or a
 * delta of the latest session with the parent's Complete subtasks carried over).
 *
 * @example
 * const preview = await previewRun(createFileStore('plan'), { prd, backlog: () => plan(prd) });
 * if (preview.session === null) console.log(`${preview.carried.length} carried over`);
 * @throws SessionError from reading the store (`INCOMPLETE_SESSION`, `CORRUPT`, ...); what
 *   `backlog()` throws
 */
export async function previewRun(
  store: SessionStore,
  options: PreviewRunOptions,
): Promise<RunPreview> {
  const sessions = new SessionManager({ store });
  const session = await sessions.findSessionByPRD(options.prd);
  if (session) {
    const { backlog } = await readSession(session.path, { store });
    return { session, parent: null, backlog, carried: [] };
  }
  const planned = await options.backlog();
  const parent = await sessions.findLatestSession();
  if (!parent) return { session: null, parent: null, backlog: planned, carried: [] };
  const { backlog, carried } = carryOverComplete(
    planned,
    (await readSession(parent.path, { store })).backlog,
  );
  return { session: null, parent, backlog, carried };
}

function requireScope(backlog: Backlog, scope: string | undefined): void {
  if (scope === undefined || createBacklogIndex(backlog).has(scope)) return;
  throw new RunnerError(
    'UNKNOWN_SCOPE',
    `unknown scope '${scope}': no item with that id in the backlog`,
    { itemId: scope },
  );
}
