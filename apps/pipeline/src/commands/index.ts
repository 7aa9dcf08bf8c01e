import { optionSpec } from '../help.ts';
import { none, parseOptions } from '../options.ts';
import type { Io } from '../run.ts';
import type { CliCommand } from './shared.ts';

/**
 * Every command, by name, as a loader: a command's module (and the packages it needs, zod and pg
 * among them) is loaded only when that command runs, so `--help`, `--version` and a mistyped
 * command answer without loading any of them.
 */
const COMMANDS: Readonly<Record<string, () => Promise<CliCommand>>> = {
  run: async () => (await import('./run.ts')).run,
  resume: async () => (await import('./run.ts')).resume,
  validate: async () => (await import('./run.ts')).validate,
  plan: async () => (await import('./plan.ts')).plan,
  show: async () => (await import('./show.ts')).show,
  next: async () => (await import('./next.ts')).next,
  'set-status': async () => (await import('./set-status.ts')).setStatus,
  status: async () => (await import('./status.ts')).status,
  sessions: async () => (await import('./status.ts')).sessions,
  work: async () => (await import('./work.ts')).work,
  export: async () => (await import('./work.ts')).exportTasks,
  import: async () => (await import('./work.ts')).importSession,
};

/** Whether `name` is a command. */
export function isCommand(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

/**
 * Parses `args` for the command `name` (see {@link isCommand}) and loads its module: the command,
 * ready to run. The arguments are checked before the module is loaded.
 */
export async function loadCommand(
  name: string,
  args: readonly string[],
): Promise<(io: Io) => Promise<number>> {
  const { values, positionals } = parseOptions(args, optionSpec(name));
  const command = await COMMANDS[name]!();
  if (command.positionals === false) none(positionals, name);
  return (io) => command.run(values, positionals, io);
}
