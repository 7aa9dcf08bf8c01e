import { parseArgs } from 'node:util';

/** A mistake in how the command was called: exit code 2, one line and a pointer to the help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Option specs as `node:util` `parseArgs` takes them. */
export type Spec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/**
 * `parseArgs` in strict mode, with its errors turned into one-line sentences. A negative number
 * after an option that takes a value (`--retries -1`) is taken as that option's value, so the
 * option's own check can say what it needs.
 */
export function parseOptions<T extends Spec>(
  args: readonly string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
> {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error as Error & { code?: string }));
  }
}

function describeParseError(error: Error & { code?: string }): string {
  const option = /'(-{1,2}[^' <]+)/.exec(error.message)?.[1] ?? 'an option';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (/argument missing/.test(error.message)) return `${option} needs a value`;
  if (/does not take an argument/.test(error.message)) return `${option} takes no value`;
  if (/ambiguous/.test(error.message)) {
    return `${option} needs a value; to give one that starts with a dash, write ${option}=VALUE`;
  }
  return error.message.split('\n')[0]!;
}

/** A whole number of `min` or more from an option's text, or `fallback` when it was not given. */
export function wholeNumber(
  value: string | undefined,
  flag: string,
  fallback: number,
  min = 0,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new UsageError(`${flag} needs a whole number of ${min} or more, got ${value}`);
  }
  return Number(value);
}

/** Exactly one positional argument, named `what` in the message when it is missing or repeated. */
export function single(positionals: readonly string[], command: string, what: string): string {
  if (positionals.length === 0) throw new UsageError(`${command} needs ${what}`);
  if (positionals.length > 1) {
    throw new UsageError(
      `${command} takes one ${what}, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  return positionals[0]!;
}

/** `value` when it is one of `choices`, else a usage error that lists them. */
export function oneOf<T extends string>(value: string, flag: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  const list = `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
  throw new UsageError(`${flag} must be ${list}, not '${value}'`);
}

/** A command given to an option (`--exec`, `--qa`, `--decompose`): anything but blank. */
export function nonEmpty(value: string, flag: string): string {
  if (value.trim() === '') throw new UsageError(`${flag} needs a command`);
  return value;
}

/** Refuses positional arguments for a command that takes none. */
export function none(positionals: readonly string[], command: string): void {
  if (positionals.length > 0) {
    throw new UsageError(`${command} takes no arguments, got: ${positionals.join(' ')}`);
  }
}
