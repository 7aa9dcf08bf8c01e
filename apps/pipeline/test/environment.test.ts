import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BIN,
  makePrd,
  readLines,
  readTasks,
  runCli,
  sessionDirs,
  subtasks,
  tempDir,
} from './helpers.ts';

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
  cleanups = [];
});

function workspace() {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  return { dir: temp.dir, prd: join(temp.dir, 'prd.md'), log: join(temp.dir, 'worker.log') };
}

/**
 * A fresh tmpfs of `size` at `dir`, unmounted after the test. Root ignores file modes, so a
 * read-only mount and a small tmpfs are the honest ways to make writes fail. Where mounting is
 * not permitted the test is skipped with a message, except under CI where it must run.
 */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    console.warn(`SKIPPED: cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`);
    return false;
  }
  cleanups.push(() => execFileSync('umount', ['-l', dir]));
  return true;
}

const ENVIRONMENT_FAILURE = /Nothing already saved was lost/;

function expectNoInternalNames(text: string) {
  expect(text).not.toMatch(/\.tmp|\.lock|\.journal|ENOSPC|EROFS|ENOTDIR|\n\s+at /);
}

describe('exit 4 when the environment fails', () => {
  it('a plan folder that is a file', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    const plan = join(w.dir, 'plan');
    writeFileSync(plan, 'not a folder\n');
    for (const args of [
      ['run', w.prd, '--plan-dir', plan, '--simulate', '1'],
      ['run', w.prd, '--plan-dir', join(plan, 'inner'), '--simulate', '1'],
      ['status', '--plan-dir', plan],
      ['sessions', '--plan-dir', plan],
    ]) {
      const result = await runCli(args, w.dir);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(4);
      expect(result.stderr).toContain(`the plan folder ${args[args.indexOf('--plan-dir') + 1]}`);
      expect(result.stderr).toContain('a file stands where a folder is needed');
      expect(result.stderr).toMatch(ENVIRONMENT_FAILURE);
      expectNoInternalNames(result.stderr);
    }
    expect(readFileSync(plan, 'utf8')).toBe('not a folder\n');
  });

  it('a read-only plan folder: exit 4, and the saved session is untouched', async (context) => {
    const w = workspace();
    const mount = join(w.dir, 'ro');
    if (!mountTmpfs(mount, '4m')) return context.skip();
    const plan = join(mount, 'plan');
    writeFileSync(w.prd, makePrd(1, 2));
    const first = await runCli(
      ['run', w.prd, '--plan-dir', plan, '--simulate', '1', '--scope', 'P1.M1.T1.S1'],
      w.dir,
    );
    expect(first.code, first.stderr).toBe(0);
    const [session] = sessionDirs(plan);
    const saved = readFileSync(join(session!, 'tasks.json'), 'utf8');
    execFileSync('mount', ['-o', 'remount,ro', mount]);

    for (const args of [
      ['resume', '--plan-dir', plan, '--simulate', '1'],
      ['run', w.prd, '--plan-dir', join(mount, 'other'), '--simulate', '1'],
      ['set-status', 'P1.M1.T1.S2', 'Obsolete', '--plan-dir', plan],
    ]) {
      const result = await runCli(args, w.dir);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(4);
      expect(result.stderr).toContain('the file system is read-only');
      expect(result.stderr).toMatch(ENVIRONMENT_FAILURE);
      expectNoInternalNames(result.stderr);
    }
    expect(readFileSync(join(session!, 'tasks.json'), 'utf8')).toBe(saved);
  });

  it('a disk that fills up during a run: exit 4, what was saved is intact, and a resume finishes', async (context) => {
    const w = workspace();
    const mount = join(w.dir, 'small');
    if (!mountTmpfs(mount, '256k')) return context.skip();
    const plan = join(mount, 'plan');
    const filler = join(mount, 'filler');
    writeFileSync(w.prd, makePrd(1, 4));
    // The second subtask fills the disk, so saving its outcome fails.
    const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; if [ "$SAVEPOINT_ITEM_ID" = P1.M1.T1.S2 ] && [ ! -e "${w.dir}/freed" ]; then cat /dev/zero > "${filler}" 2>/dev/null; true; fi`;
    const full = await runCli(['run', w.prd, '--plan-dir', plan, '--exec', worker], w.dir);
    expect(full.code, full.stderr).toBe(4);
    expect(full.stderr).toContain(`the plan folder ${plan}: the disk is full`);
    expect(full.stderr).toMatch(ENVIRONMENT_FAILURE);
    expectNoInternalNames(full.stderr);
    const [session] = sessionDirs(plan);
    const statuses = subtasks(readTasks(session!)).map((s) => s.status);
    expect(statuses[0]).toBe('Complete');
    // The third subtask may have been claimed when the disk filled up: then it is on disk as in
    // flight (Implementing), which the next open returns to Planned; it never counts as done.
    expect(['Planned', 'Implementing']).toContain(statuses[2]);
    expect(statuses[3]).toBe('Planned');

    rmSync(filler);
    writeFileSync(join(w.dir, 'freed'), '');
    const resumed = await runCli(['resume', '--plan-dir', plan, '--exec', worker], w.dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(subtasks(readTasks(session!)).every((s) => s.status === 'Complete')).toBe(true);
    expect(readLines(w.log).filter((id) => id === 'P1.M1.T1.S1')).toHaveLength(1);
  });

  it('a plan folder the user may not write to: exit 4 naming the folder', async (context) => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    const plan = join(w.dir, 'plan');
    mkdirSync(plan);
    // Root writes anywhere: as root the CLI runs without its capabilities (setpriv drops
    // CAP_DAC_OVERRIDE and the rest), so the folder's mode bits apply to it as to anyone else. It
    // stays root, so it can still read the repository wherever the clone lives.
    const asRoot = process.getuid?.() === 0;
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
    if (asRoot && !setpriv) {
      if (process.env.CI === 'true')
        throw new Error('setpriv is needed to test permissions as root');
      console.warn('SKIPPED: running as root without setpriv, cannot drop privileges');
      return context.skip();
    }
    chmodSync(plan, 0o555);
    const args = [BIN, 'run', w.prd, '--plan-dir', plan, '--simulate', '1'];
    const result = asRoot
      ? spawnSync(
          setpriv!,
          ['--inh-caps=-all', '--bounding-set=-all', '--', process.execPath, ...args],
          { cwd: w.dir, encoding: 'utf8' },
        )
      : spawnSync(process.execPath, args, { cwd: w.dir, encoding: 'utf8' });
    chmodSync(plan, 0o755);
    expect(result.status, result.stderr).toBe(4);
    expect(result.stderr).toContain(`the plan folder ${plan}: permission was denied`);
    expect(result.stderr).toMatch(ENVIRONMENT_FAILURE);
    expectNoInternalNames(result.stderr);
    expect(sessionDirs(plan)).toEqual([]);
  });
});
