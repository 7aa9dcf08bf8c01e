import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { UsageError } from './args.ts';
import { isCommand, loadCommand } from './commands/index.ts';
import { CliError, EXIT } from './errors.ts';
import { helpText } from './help.ts';
import type { Io } from './run.ts';

export { CliError, EXIT } from './errors.ts';

/**
 * Runs the CLI with `argv` (without `node` and the script name) and returns its exit code. Signals
 * during `run`/`resume` end the process from the shutdown hooks with 130/143/129.
 */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(`${helpText()}\n`);
    return EXIT.INPUT;
  }
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')) {
    io.stdout.write(`${helpText(name)}\n`);
    return EXIT.OK;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${helpText(rest[0])}\n`);
    return EXIT.OK;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout.write(`${version()}\n`);
    return EXIT.OK;
  }
  if (!isCommand(name)) {
    io.stderr.write(`savepoint: unknown command '${name}'\nsee: savepoint --help\n`);
    return EXIT.INPUT;
  }
  // Loaded with the command, before it runs: an error met during a shutdown (a Ctrl-C while
  // planning) is printed before the shutdown ends the process, with no module load in between.
  let describe: typeof import('./describe-error.ts').describeError | undefined;
  try {
    const command = await loadCommand(name, rest);
    ({ describeError: describe } = await import('./describe-error.ts'));
    return await command(io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`savepoint: ${error.message}\nsee: savepoint ${name} --help\n`);
      return EXIT.INPUT;
    }
    // validate names a file, not a plan folder.
    const planDir = error instanceof CliError || name === 'validate' ? undefined : planDirOf(rest);
    describe ??= (await import('./describe-error.ts')).describeError;
    const { message, exitCode } = describe(error, planDir);
    io.stderr.write(`savepoint: ${message}\n`);
    return exitCode;
  }
}

function planDirOf(rest: readonly string[]): string {
  const at = rest.indexOf('--plan-dir');
  const given = rest.find((arg) => arg.startsWith('--plan-dir='))?.slice(11);
  return resolve((at >= 0 ? rest[at + 1] : given) ?? 'plan');
}

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}

function defaultIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
