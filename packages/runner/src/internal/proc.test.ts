import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { carriesToken, processesWithToken, processInfo, TOKEN_VARIABLE } from './proc.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/**
 * A sleeping process with exactly this environment, in this order. `spawn` returns once the
 * process has exec'd, so its environment and stat are readable from then on.
 */
function sleeper(env: Record<string, string>): number {
  const child = spawn('/bin/sleep', ['60'], { stdio: 'ignore', env });
  children.push(child);
  return child.pid!;
}

describe('carriesToken and processesWithToken', () => {
  it('find the token as a whole variable, first, last or alone', () => {
    const token = 'a1b2c3d4e5f6a1b2c3d4e5f6';
    const first = sleeper({ [TOKEN_VARIABLE]: token, OTHER: 'x' });
    const last = sleeper({ OTHER: 'x', [TOKEN_VARIABLE]: token });
    const alone = sleeper({ [TOKEN_VARIABLE]: token });
    for (const pid of [first, last, alone]) {
      expect(carriesToken(pid, token)).toBe(true);
      // Not a token that only starts or ends the same way.
      expect(carriesToken(pid, token.slice(0, -1))).toBe(false);
      expect(carriesToken(pid, token.slice(1))).toBe(false);
      expect(carriesToken(pid, `${token}0`)).toBe(false);
    }
    expect(processesWithToken(token).sort()).toEqual([first, last, alone].sort());
  });

  it('do not take the token inside the value of another variable', () => {
    const token = 'f6e5d4c3b2a1f6e5d4c3b2a1';
    const pid = sleeper({ ECHO: `${TOKEN_VARIABLE}=${token}`, [`X${TOKEN_VARIABLE}`]: token });
    expect(readFileSync(`/proc/${pid}/environ`, 'latin1')).toContain(`${TOKEN_VARIABLE}=${token}`);
    expect(carriesToken(pid, token)).toBe(false);
    expect(processesWithToken(token)).toEqual([]);
  });

  it('read an environment far larger than their buffer, and a small one after it', () => {
    const token = '0123456789abcdef01234567';
    const big: Record<string, string> = {};
    // 40 variables of 4 KiB: 160 KiB before the token.
    for (let i = 0; i < 40; i++) big[`FILLER_${i}`] = String(i % 10).repeat(4096);
    const large = sleeper({ ...big, [TOKEN_VARIABLE]: token });
    const small = sleeper({ [TOKEN_VARIABLE]: token });
    expect(carriesToken(large, token)).toBe(true);
    expect(carriesToken(small, token)).toBe(true);
    expect(carriesToken(large, 'other')).toBe(false);
    expect(processesWithToken(token).sort()).toEqual([large, small].sort());
  });
});

describe('processInfo', () => {
  it('gives the start time /proc states, and nothing for a process that is gone', async () => {
    const pid = sleeper({});
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    expect(processInfo(pid)).toEqual({ startTime: fields[19], zombie: false });
    const child = children.pop()!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(processInfo(pid)).toBeUndefined();
  });
});
