import { join } from 'node:path';
import { describeValue, errnoOf, toStoreError } from './errors.ts';
import { fsx } from './internal/fs.ts';
import { isProcessAlive, processStartMs } from './internal/process.ts';
import { hostIdentity, parseTempName } from './internal/temp-name.ts';

/** Options of {@link sweepTempFiles}. */
export interface SweepOptions {
  /**
   * Only remove temp files at least this old (by modification time). Files left by a writer on
   * another host (a shared network folder) cannot be checked for liveness, so they are removed
   * only when this option is given.
   */
  olderThanMs?: number;
}

/**
 * Removes the temp files that writers which died mid-write left in `dir`, and returns their
 * paths. A temp file is recognised by its name (`.<name>.<host>-<pid>-<random>.tmp`), which says
 * which process on which host wrote it; the file of a process that is still running is never
 * touched, this process's own included.
 *
 * A leftover whose pid has since been reused by an unrelated live process is recognised on Linux
 * (that process started after the file was last written); elsewhere it stays until that process
 * exits.
 *
 * @example
 * ```ts
 * const removed = await sweepTempFiles('plan/001_ab12');
 * ```
 */
export async function sweepTempFiles(dir: string, options: SweepOptions = {}): Promise<string[]> {
  if (typeof dir !== 'string' || dir === '') {
    throw new TypeError(`sweepTempFiles: expected a folder path string, got ${describeValue(dir)}`);
  }
  const { olderThanMs } = options;
  if (olderThanMs !== undefined && !(typeof olderThanMs === 'number' && olderThanMs >= 0)) {
    throw new TypeError(
      `sweepTempFiles: expected options.olderThanMs as a non-negative number, got ${describeValue(olderThanMs)}`,
    );
  }
  let names: string[];
  try {
    names = await fsx.readdir(dir);
  } catch (error) {
    throw toStoreError(error, 'sweep', dir);
  }
  const own = hostIdentity();
  const removed: string[] = [];
  for (const name of names) {
    const writer = parseTempName(name);
    if (writer === undefined) continue;
    const sameHost = writer.tag === own.tag;
    if (!sameHost && olderThanMs === undefined) continue;
    const path = join(dir, name);
    try {
      const stats = await fsx.lstat(path);
      if (!stats.isFile()) continue;
      if (olderThanMs !== undefined && Date.now() - stats.mtimeMs < olderThanMs) continue;
      if (sameHost && isWriterRunning(writer.pid, stats.mtimeMs)) continue;
      await fsx.unlink(path);
      removed.push(path);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') continue;
      throw toStoreError(error, 'sweep', path);
    }
  }
  return removed;
}

/**
 * Whether the process that wrote a temp file last modified at `mtimeMs` may still be running.
 * A live pid whose process started after that moment (known on Linux) is a reused pid.
 */
function isWriterRunning(pid: number, mtimeMs: number): boolean {
  if (pid !== process.pid && !isProcessAlive(pid)) return false;
  const started = processStartMs(pid);
  return started === undefined || started <= mtimeMs + PID_REUSE_SLACK_MS;
}

const PID_REUSE_SLACK_MS = 2_500;
