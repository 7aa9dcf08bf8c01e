import { describeValue, toStoreError } from './errors.ts';
import { syncDirectorySteps } from './internal/protocol.ts';
import { runAsync, runSync } from './internal/run.ts';

/**
 * Flushes a folder's entries to disk, so that files created, renamed or removed in it survive a
 * power cut. Call it after renaming a folder into place (fsync the parent) or after creating
 * files with other tools. A no-op on Windows, and on file systems that cannot fsync a folder.
 *
 * @example
 * ```ts
 * await rename(stagingDir, sessionDir);
 * await syncDirectory(dirname(sessionDir));
 * ```
 */
export async function syncDirectory(dir: string): Promise<void> {
  checkDir('syncDirectory', dir);
  try {
    await runAsync(syncDirectorySteps(dir));
  } catch (error) {
    throw toStoreError(error, 'fsync-dir', dir);
  }
}

/** The synchronous twin of {@link syncDirectory}. */
export function syncDirectorySync(dir: string): void {
  checkDir('syncDirectorySync', dir);
  try {
    runSync(syncDirectorySteps(dir));
  } catch (error) {
    throw toStoreError(error, 'fsync-dir', dir);
  }
}

function checkDir(caller: string, dir: unknown): void {
  if (typeof dir !== 'string' || dir === '') {
    throw new TypeError(`${caller}: expected a folder path string, got ${describeValue(dir)}`);
  }
}
