import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { exitCodeForSignal } from './index.ts';

describe('exitCodeForSignal', () => {
  it('gives the shell codes for the common signals', () => {
    expect(exitCodeForSignal('SIGINT')).toBe(130);
    expect(exitCodeForSignal('SIGTERM')).toBe(143);
    expect(exitCodeForSignal('SIGHUP')).toBe(129);
  });

  it('is 128 plus the platform signal number for every known signal', () => {
    for (const [name, number] of Object.entries(constants.signals)) {
      expect(exitCodeForSignal(name as NodeJS.Signals)).toBe(128 + number);
    }
  });

  it('rejects names that are not signals', () => {
    expect(() => exitCodeForSignal('SIGNOPE' as NodeJS.Signals)).toThrow(TypeError);
    expect(() => exitCodeForSignal('toString' as NodeJS.Signals)).toThrow(/got "toString"/);
    expect(() => exitCodeForSignal(2 as unknown as NodeJS.Signals)).toThrow(/got number 2/);
  });
});
