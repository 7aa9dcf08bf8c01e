import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runShellCommand, simulateWork } from './worker.ts';

/** Alive and not a zombie waiting for a parent that is already gone. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('runShellCommand', () => {
  it('passes item data through the environment and reports the exit code and output tail', async () => {
    const result = await runShellCommand('printf "%s|%s" "$SAVEPOINT_ITEM_ID" "$TITLE"; exit 3', {
      env: { SAVEPOINT_ITEM_ID: 'P1.M1.T1.S1', TITLE: '$(touch /tmp/never) `x` "q"' },
      signal: new AbortController().signal,
    });
    expect(result).toMatchObject({ exitCode: 3, signal: null, aborted: false });
    expect(result.outputTail).toBe('P1.M1.T1.S1|$(touch /tmp/never) `x` "q"');
  });

  it('keeps only the tail of long output', async () => {
    const result = await runShellCommand('seq 1 20000', {
      env: {},
      signal: new AbortController().signal,
      tailBytes: 100,
    });
    expect(result.outputTail.length).toBe(100);
    expect(result.outputTail.endsWith('20000\n')).toBe(true);
  });

  it('stops the whole process group on abort, escalating to SIGKILL after the grace period', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'savepoint-worker-'));
    try {
      const pidFile = join(dir, 'grandchild.pid');
      const controller = new AbortController();
      // The shell starts a grandchild that ignores SIGTERM; only SIGKILL of the group ends it.
      // The grandchild names itself in a file (renamed into place, so it is never read half
      // written) once its trap is set: the test waits for that instead of for a time.
      const started = runShellCommand(
        `sh -c 'trap "" TERM; echo $$ > "$PID_FILE.tmp"; mv "$PID_FILE.tmp" "$PID_FILE"; while true; do sleep 0.05; done' & wait`,
        { env: { PID_FILE: pidFile }, signal: controller.signal, graceMs: 300 },
      );
      while (!existsSync(pidFile)) await new Promise((resolve) => setTimeout(resolve, 10));
      const grandchild = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
      expect(Number.isInteger(grandchild) && grandchild > 0).toBe(true);
      expect(alive(grandchild)).toBe(true);
      const t0 = Date.now();
      controller.abort();
      const result = await started;
      expect(result.aborted).toBe(true);
      // The grandchild ignores SIGTERM, so only the SIGKILL after the grace period ended it.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      // SIGKILL has been sent; the kernel takes a moment to finish the process off.
      for (let i = 0; i < 500 && alive(grandchild); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(alive(grandchild)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('simulateWork', () => {
  it('completes after the delay or stops early when aborted', async () => {
    await expect(simulateWork(5, new AbortController().signal)).resolves.toMatchObject({
      exitCode: 0,
    });
    const controller = new AbortController();
    const pending = simulateWork(10_000, controller.signal);
    controller.abort();
    await expect(pending).resolves.toMatchObject({ aborted: true, exitCode: null });
  });
});
