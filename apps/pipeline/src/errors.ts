/** Exit codes of the `savepoint` CLI. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  INPUT: 2,
  LOCKED: 3,
  /** The environment failed (disk full, read-only, permission, a file where a folder should be). */
  ENVIRONMENT: 4,
} as const;

/** An error the CLI reports as one clear message and an exit code, never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.INPUT,
  ) {
    super(message);
  }
}

/** The error for an item id the session does not have. */
export function noItem(id: string, session: string): CliError {
  return new CliError(
    `no item '${id}' in session ${session}; savepoint status --tree lists the ids`,
  );
}
