import { existsSync } from 'node:fs';
import { delimiter, join, resolve, sep } from 'node:path';

/**
 * What the resume command must repeat from the run that was stopped. The worker command, scope,
 * concurrency, retries and time limit are in the session's run.json already; simulated work and
 * the QA step are not.
 */
export interface HintOptions {
  planDir: string;
  session: string;
  simulateMs?: number | undefined;
  qa?: string | undefined;
}

/**
 * The command that resumes a stopped run, typed as the person can run it from where they stand:
 * the program named the way it was started, the plan folder when it is not the default, and
 * every value quoted for the shell.
 */
export function resumeCommand(options: HintOptions, env: NodeJS.ProcessEnv = process.env): string {
  const words = [...program(env), 'resume'];
  if (resolve(options.planDir) !== resolve('plan'))
    words.push('--plan-dir', quote(options.planDir));
  words.push('--session', quote(options.session));
  if (options.simulateMs !== undefined) words.push('--simulate', String(options.simulateMs));
  if (options.qa !== undefined) words.push('--qa', quote(options.qa));
  return words.join(' ');
}

/** How to start this CLI again: through the package manager that started it, from PATH, or by path. */
function program(env: NodeJS.ProcessEnv): string[] {
  const script = process.argv[1] ?? '';
  const agent = env.npm_config_user_agent ?? '';
  // A package manager's `exec` started us through its link in node_modules/.bin.
  if (script.includes(`${sep}node_modules${sep}`) && env.npm_command === 'exec') {
    if (agent.startsWith('pnpm/')) return ['pnpm', 'exec', 'savepoint'];
    if (agent.startsWith('npm/')) return ['npx', 'savepoint'];
  }
  // On PATH (a global install): the folders package managers add for one command do not count.
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && !dir.includes('node_modules') && existsSync(join(dir, 'savepoint')));
  if (onPath) return ['savepoint'];
  return [quote(process.execPath), quote(script)];
}

/** `value` as one shell word: left bare when it is plainly safe, else single-quoted. */
export function quote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
