import { optionSpec } from '../help.ts';
import { none, parseOptions } from '../options.ts';
import type { Io } from '../run.ts';
import { next } from './next.ts';
import { plan } from './plan.ts';
import { resume, run, validate } from './run.ts';
import { setStatus } from './set-status.ts';
import type { CliCommand } from './shared.ts';
import { show } from './show.ts';
import { sessions, status } from './status.ts';
import { exportTasks, importSession, work } from './work.ts';

/** Every command, by name. */
export const COMMANDS: Readonly<Record<string, CliCommand>> = {
  run,
  resume,
  validate,
  plan,
  show,
  next,
  'set-status': setStatus,
  status,
  sessions,
  work,
  export: exportTasks,
  import: importSession,
};

/** Parses `args` for the command `name` (one of {@link COMMANDS}) and runs it. */
export async function runCommand(name: string, args: readonly string[], io: Io): Promise<number> {
  const command = COMMANDS[name]!;
  const { values, positionals } = parseOptions(args, optionSpec(name));
  if (command.positionals === false) none(positionals, name);
  return command.run(values, positionals, io);
}
