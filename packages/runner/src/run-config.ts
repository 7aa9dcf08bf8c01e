import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@savepoint/atomic-store';
import { RunnerError } from './errors.ts';

/** The session file that remembers how the session is run. */
export const RUN_CONFIG_FILE = 'run.json';

/** How a session is run, as remembered in `<session>/run.json`. */
export interface RunConfig {
  /** The worker command (`/bin/sh -c`). */
  exec?: string;
  retries?: number;
  concurrency?: number;
  scope?: string;
  /** Per-attempt time limit in milliseconds. */
  timeoutMs?: number;
}

const KEYS = {
  exec: 'string',
  retries: 'number',
  concurrency: 'number',
  scope: 'string',
  timeoutMs: 'number',
} as const;

/**
 * Reads `<sessionDir>/run.json`; `{}` when there is none.
 *
 * @throws RunnerError `INVALID_CONFIG` for a file that is not a run configuration, `IO` when it
 *   cannot be read
 */
export async function readRunConfig(sessionDir: string): Promise<RunConfig> {
  const file = join(sessionDir, RUN_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RunnerError('IO', `cannot read ${file}`, { path: file, cause });
  }
  return parseRunConfig(text, file);
}

/**
 * Parses the text of a run configuration (a `run.json` kept elsewhere, such as an artifact of a
 * database session); `file` names it in errors.
 *
 * @throws RunnerError `INVALID_CONFIG` for text that is not a run configuration
 */
export function parseRunConfig(text: string, file: string): RunConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new RunnerError('INVALID_CONFIG', `${file} is not valid JSON`, { path: file, cause });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new RunnerError('INVALID_CONFIG', `${file} must hold a JSON object`, { path: file });
  }
  const config: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(KEYS)) {
    const value = (data as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== type) {
      throw new RunnerError('INVALID_CONFIG', `${file}: "${key}" must be a ${type}`, {
        path: file,
      });
    }
    config[key] = value;
  }
  return config as RunConfig;
}

/** The text of `run.json` for `config`: the known keys, 2-space JSON and a final newline. */
export function formatRunConfig(config: RunConfig): string {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(KEYS) as (keyof RunConfig)[]) {
    if (config[key] !== undefined) data[key] = config[key];
  }
  return `${JSON.stringify(data, null, 2)}\n`;
}

/**
 * Writes `<sessionDir>/run.json` atomically and durably.
 *
 * @throws RunnerError `IO`
 */
export async function writeRunConfig(sessionDir: string, config: RunConfig): Promise<void> {
  const file = join(sessionDir, RUN_CONFIG_FILE);
  try {
    await writeFileAtomic(file, formatRunConfig(config));
  } catch (cause) {
    throw new RunnerError('IO', `cannot write ${file}`, { path: file, cause });
  }
}

/** A run configuration as options give it: a key may be present with `undefined` (not given). */
export type RunConfigInput = { readonly [K in keyof RunConfig]?: RunConfig[K] | undefined };

/**
 * `stored` (a session's `run.json`) with the values of `given` laid over it. A key that `given`
 * leaves `undefined` keeps the stored value, so what a person does not repeat on a resume comes
 * from the session, and what they give again replaces it.
 *
 * @example
 * mergeRunConfig({ exec: 'make', retries: 2 }, { retries: 5, scope: undefined });
 * // { exec: 'make', retries: 5 }
 */
export function mergeRunConfig(stored: RunConfig, given: RunConfigInput): RunConfig {
  const merged: RunConfig = { ...stored };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) Object.assign(merged, { [key]: value });
  }
  return merged;
}
