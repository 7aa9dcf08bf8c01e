import type { Spec } from './options.ts';

const STORE_OPTION = `  --store URL        a postgres:// or postgresql:// URL: the sessions are in that database instead
                     of the plan folder (default: $SAVEPOINT_STORE; the flag wins)`;

const EXEC_OPTIONS = `  --plan-dir DIR     where sessions live (default ./plan)
${STORE_OPTION}
                     With --store the session is worked through leased claims (30 s leases),
                     --concurrency N workers at once, while savepoint work on other machines joins
                     in; logs go to <plan-dir>/workers/<session>/<host>-<pid>-<n>/logs; --qa is
                     not available
  --exec CMD         run CMD through the shell once per subtask; exit 0 means Complete. It gets
                     SAVEPOINT_ITEM_ID, SAVEPOINT_ITEM_TITLE, SAVEPOINT_ATTEMPT, SAVEPOINT_SESSION_DIR
                     and SAVEPOINT_ITEM_FILE (JSON: item, ancestors, context_scope, dependencies)
  --simulate MS      pretend each subtask takes MS milliseconds instead of running a command
                     (a session needs one of the two, or an --exec stored by an earlier run)
  --concurrency N    run up to N subtasks at once (default 1)
  --retries N        extra attempts for a failing subtask (default 2)
  --scope ID         only run subtasks under this id (P1, P1.M2, P1.M2.T3 or P1.M2.T3.S4)
  --timeout MS       stop an attempt that runs longer than MS milliseconds (its whole process
                     group) and count it as failed; 0: no limit (the default)
                     --exec, --concurrency, --retries, --scope and --timeout are kept in the
                     session's run.json: resume reuses them, and one given again replaces the
                     stored one
  --output MODE      quiet (default: progress and failures) or stream (every worker line, prefixed
                     with its item id); each attempt's output is kept in <session>/logs/
  --qa CMD           run CMD once when every subtask is Complete; failure output goes to TEST_RESULTS.md
  --progress MODE    auto (bar in a terminal, plain lines otherwise), always (bar) or never
  --json             print one JSON object on stdout at the end (progress goes to stderr)
  --flush WHEN       subtask (default): write status changes after each subtask; change: write
                     after every status change (slower, loses less of the subtask in flight)`;

const SESSION_OPTIONS = `  --plan-dir DIR     where sessions live (default ./plan)
${STORE_OPTION}
  --session ID       which session: folder name, sequence number or PRD hash (default: the latest)`;

/**
 * The help text of each command, printed by `savepoint <command> --help`. It is also the parser's
 * spec: a command takes exactly the options its help lists (see {@link optionSpec}).
 */
export const HELP: Readonly<Record<string, string>> = {
  run: `Usage: savepoint run <prd.md> [options]

Works through the PRD's backlog: resumes the PRD's session, starts a delta session when the PRD
changed, or creates the first session.

Options:
  --backlog FILE     use this tasks.json for a new session instead of decomposing the PRD
  --decompose CMD    run CMD (PRD path in SAVEPOINT_PRD); its stdout is the backlog for a new session
${EXEC_OPTIONS}`,
  resume: `Usage: savepoint resume [options]

Continues a session without re-planning.

Options:
  --session ID       which session: folder name, sequence number or PRD hash (default: the latest)
${EXEC_OPTIONS}`,
  status: `Usage: savepoint status [--plan-dir DIR | --store URL] [--session ID] [--json] [--tree]

Where a session stands: counts, failed and blocked items, the item in flight.

Options:
${SESSION_OPTIONS}
  --json             one JSON object with the same fields as run --json
  --tree             the whole backlog as an outline`,
  validate: `Usage: savepoint validate <tasks.json | session folder> [--json]

Checks a backlog file against the schema and the dependency graph; exit 2 when it is invalid.

Options:
  --json             print the result and every issue as one JSON object`,
  sessions: `Usage: savepoint sessions [--plan-dir DIR | --store URL] [--json]

Lists the sessions of a plan folder (or of the --store database) with their progress; a damaged
session is listed as damaged.

Options:
  --plan-dir DIR     where sessions live (default ./plan)
${STORE_OPTION}
  --json             one JSON object`,
  work: `Usage: savepoint work --store URL [--session ID] [--concurrency N] [--exec CMD] [--timeout MS]
                      [--lease-ms N]

Joins a session of a PostgreSQL database as more workers, on this machine or any other: each of
the N workers (ids <host>/<pid>/1..N) claims the next ready subtask under a lease, renews it while
the command runs and records the outcome. Uses the session's stored worker command, retries,
scope and time limit (from savepoint run --store or import) unless --exec or --timeout is given.

Exits 0 when nothing in scope can become ready any more, 1 when subtasks in scope are Failed.
Ctrl-C (SIGINT) or SIGTERM stops the commands and gives their subtasks back at once (exit
130/143). A killed worker's subtasks run again once their lease expires. A worker that stalled past
its lease (its subtask may run elsewhere) stops that subtask's command, says so on stderr and
records nothing.

Options:
${STORE_OPTION}
  --session ID       which session: id, sequence number or PRD hash (default: the latest)
  --concurrency N    workers in this process (default: the session's stored concurrency, else 1)
  --exec CMD         the worker command instead of the stored one (same variables as run --exec;
                     SAVEPOINT_SESSION_DIR is this worker's local folder)
  --simulate MS      pretend each subtask takes MS milliseconds instead of running a command
  --timeout MS       this worker's time limit per attempt instead of the stored one; 0: no limit
  --lease-ms N       how long a claim lasts without a heartbeat (default 30000; heartbeats every
                     third of it): a killed worker's subtask runs again about this long after
  --plan-dir DIR     local folder for logs: <DIR>/workers/<session>/<host>-<pid>-<n>/logs
                     (default ./plan)
  --output MODE      quiet (default) or stream (every worker line, prefixed with its item id)
  --json             print one JSON object on stdout at the end`,
  export: `Usage: savepoint export --store URL [--session ID]

Writes a database session's tasks.json, as it is now, to stdout.

Options:
${STORE_OPTION}
  --session ID       which session: id, sequence number or PRD hash (default: the latest)`,
  import: `Usage: savepoint import <session folder> --store URL

Loads a session folder of a plan folder into a PostgreSQL database as a new session: tasks.json
with its journal applied, prd_snapshot.md and run.json. Prints the new session's id. Refused
(exit 2) when the database has a session with the same PRD hash, or the folder is not a session.

Options:
${STORE_OPTION}`,
  plan: `Usage: savepoint plan <prd.md> [--plan-dir DIR] [--backlog FILE | --decompose CMD] [--json]

Shows the backlog a run of this PRD would create, as an outline or --json. Writes nothing.

Options:
  --plan-dir DIR     the plan folder whose sessions decide new, delta or resume (default ./plan)
  --backlog FILE     use this tasks.json for a new session instead of decomposing the PRD
  --decompose CMD    run CMD (PRD path in SAVEPOINT_PRD); its stdout is the backlog for a new session
  --json             print the PRD, the session it would use and the backlog as one JSON object`,
  show: `Usage: savepoint show <id> [--plan-dir DIR | --store URL] [--session ID] [--json]

Shows one item: its ancestors, status, dependencies with their statuses and its context_scope.

Options:
${SESSION_OPTIONS}
  --json             print the item as one JSON object`,
  next: `Usage: savepoint next [--plan-dir DIR | --store URL] [--session ID] [--scope ID] [--json]

Lists the subtasks that are ready now, in the order a run would take them.

Options:
${SESSION_OPTIONS}
  --scope ID         only subtasks under this id
  --json             print one JSON object`,
  'set-status': `Usage: savepoint set-status <id> <status> [--plan-dir DIR | --store URL] [--session ID] [--json]

Sets an item's status, for example marks a Failed item Obsolete or resets it to Planned.
Takes the session's lock: refused (exit 3) while a run holds it.
Statuses: Planned, Researching, Implementing, Retrying, Complete, Failed, Obsolete.

Options:
${SESSION_OPTIONS}
  --json             print the result as one JSON object`,
};

/** The global help: every command in one line and the exit codes. */
export const USAGE = `Usage: savepoint <command> [options]

Commands:
  run <prd.md>             work through a PRD's backlog (creates or resumes its session)
  resume                   continue a session
  status                   where a session stands
  sessions                 list the sessions of a plan folder
  plan <prd.md>            show the backlog a run would create, writing nothing
  show <id>                one item with its ancestors and dependencies
  next                     the subtasks that are ready now
  set-status <id> <status> change an item's status (for example Failed -> Obsolete)
  validate <tasks.json>    check a backlog file
  work --store URL         join a session of a PostgreSQL database as more workers
  export --store URL       print a database session's tasks.json
  import <folder> --store URL  load a session folder into a PostgreSQL database

run, resume, status, sessions, show, next and set-status take --store URL (or $SAVEPOINT_STORE)
to use a PostgreSQL database instead of the plan folder.

Run savepoint <command> --help for a command's options.
savepoint --version prints the version.

Exit codes: 0 done, 1 some subtasks or QA failed, 2 usage or input error (a malformed --store
URL too), 3 session locked by another process, 4 the environment failed (disk full, read-only,
permission, a database that cannot be reached), 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP.`;

/**
 * The `parseArgs` options of command `name`, read from its help: every line that starts with two
 * spaces and `--name` lists an option, which takes a value when a placeholder follows the name
 * (`--plan-dir DIR`). `--help` and `-h` are always accepted.
 */
export function optionSpec(name: string): Spec {
  const spec: Spec = { help: { type: 'boolean', short: 'h' } };
  for (const [, option, value] of HELP[name]!.matchAll(/^ {2}--([a-z-]+)( [A-Z]+)?/gm)) {
    spec[option!] = { type: value === undefined ? 'boolean' : 'string' };
  }
  return spec;
}

/** The help for `topic` (a command name), or the global help. */
export function helpText(topic?: string): string {
  return (topic !== undefined && HELP[topic]) || USAGE;
}
