import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SessionError } from './errors.ts';
import { parseSessionName } from './layout.ts';

/**
 * How a person gets a damaged session going again, as one sentence starting `To recover:`, or
 * `undefined` when `error` is not about damage. From the error's `path` (and `offset`):
 *
 * - `INVALID_BACKLOG`: restore `tasks.json.bak` when the session folder has one, else fix
 *   `tasks.json` (`savepoint validate` lists every problem); or remove the session folder to start
 *   that session over.
 * - `CORRUPT` with an `offset`: truncate the journal to that offset to keep the changes saved
 *   before the damage (the command is given); or remove the session folder.
 * - `INCOMPLETE_SESSION` (and `CORRUPT` without an offset): put the missing file back; or remove
 *   the session folder.
 *
 * @example
 * catch (error) {
 *   if (error instanceof SessionError) console.error(error.message, recoveryHint(error) ?? '');
 * }
 */
export function recoveryHint(error: SessionError): string | undefined {
  if (error.code === 'INVALID_BACKLOG') {
    const folder = sessionFolderOf(error.path);
    if (!folder) {
      return 'To recover: fix the backlog file named above, or start over with a new plan folder.';
    }
    const tasks = join(folder, 'tasks.json');
    const backup = `${tasks}.bak`;
    const steps = [
      existsSync(backup)
        ? `restore the last good copy with: cp '${backup}' '${tasks}'`
        : `fix ${tasks} at the place named above (savepoint validate '${tasks}' lists every problem)`,
      `or remove the folder ${folder} to start that session over`,
    ];
    return `To recover: ${steps.join('; ')}.`;
  }
  if (error.code !== 'CORRUPT' && error.code !== 'INCOMPLETE_SESSION') return undefined;
  const folder = sessionFolderOf(error.path) ?? error.path ?? 'the session folder';
  const start = `or remove the folder ${folder} to start that session over`;
  if (error.code === 'CORRUPT' && error.path && typeof error.offset === 'number') {
    return `To recover: keep the changes saved before the damage with: truncate -s ${error.offset} '${error.path}'; ${start}.`;
  }
  return `To recover: put the missing file back (from a backup or the parent session), ${start}.`;
}

/** The session folder (`001_<hash12>`) that `path` is or lies in. */
function sessionFolderOf(path: string | undefined): string | undefined {
  for (let at = path; at && at !== dirname(at); at = dirname(at)) {
    if (parseSessionName(basename(at))) return at;
  }
  return undefined;
}
