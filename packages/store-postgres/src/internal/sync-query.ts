import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type pg from 'pg';

/** One statement of a {@link runSync} transaction. */
export interface SyncStatement {
  readonly text: string;
  readonly values?: readonly unknown[];
}

// The child connects, runs every statement in one transaction and prints the rows of the last.
const SCRIPT = `
const pg = require(process.argv[1]);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  const { config, statements } = JSON.parse(input);
  const client = new pg.Client(config);
  try {
    await client.connect();
    await client.query('BEGIN');
    let last = { rows: [] };
    for (const statement of statements) last = await client.query(statement.text, statement.values);
    await client.query('COMMIT');
    process.stdout.write(JSON.stringify(last.rows));
    await client.end();
  } catch (error) {
    process.stderr.write(String(error && error.message ? error.message : error));
    process.exit(1);
  }
});
`;

/**
 * Runs statements in one transaction and waits for the result synchronously, for the last
 * moments of a process (`appendSync`, `compactSync`, `releaseSync`): pg is asynchronous, so a
 * short-lived child process does the work while this one blocks.
 *
 * @returns the rows of the last statement
 * @throws Error with the database's message when the child fails
 */
export function runSync(
  config: pg.ClientConfig,
  statements: readonly SyncStatement[],
): Record<string, unknown>[] {
  const pgPath = createRequire(import.meta.url).resolve('pg');
  const result = spawnSync(process.execPath, ['-e', SCRIPT, pgPath], {
    input: JSON.stringify({ config, statements }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(result.stderr.trim() || `the child exited with ${result.status}`);
  }
  return JSON.parse(result.stdout) as Record<string, unknown>[];
}
