import type { ReadonlyBacklogIndex } from '@savepoint/session';
import type { Subtask } from '@savepoint/task-schema';
import type { ItemDetails } from './types.ts';

/** The longest value {@link safeEnvValue} returns, in UTF-8 bytes. */
export const ENV_VALUE_LIMIT = 4096;

/**
 * Makes text safe to put in an environment variable: NUL bytes (which end a C string and make
 * `spawn` fail) become spaces, and the value is cut to `limit` UTF-8 bytes on a character boundary,
 * ending in `...` when cut, so a huge title cannot make the kernel refuse the whole environment.
 */
export function safeEnvValue(text: string, limit = ENV_VALUE_LIMIT): string {
  if (typeof text !== 'string') {
    throw new TypeError(`safeEnvValue expected a string, got ${typeof text}`);
  }
  const clean = text.replaceAll('\0', ' ');
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= limit) return clean;
  let end = Math.max(0, limit - 3);
  // Step back over UTF-8 continuation bytes so no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return `${bytes.subarray(0, end).toString('utf8')}...`;
}

/**
 * What the worker is told about a subtask: the item, its ancestors' titles and descriptions (from
 * the phase down), its `context_scope`, and its dependencies with their current statuses.
 */
export function describeItem(
  index: Pick<ReadonlyBacklogIndex, 'get' | 'ancestors'>,
  item: Subtask,
  extra: { attempt: number; previousLog: string | null; sessionDir: string },
): ItemDetails {
  const ancestors = index
    .ancestors(item.id)
    .reverse()
    .map((ancestor) => {
      const description = (ancestor as { description?: unknown }).description;
      return {
        id: ancestor.id,
        type: ancestor.type,
        title: ancestor.title,
        ...(typeof description === 'string' ? { description } : {}),
      };
    });
  const dependencies = (item.dependencies ?? []).map((id) => {
    const found = index.get(id);
    return { id, title: found?.title ?? null, status: found?.status ?? null };
  });
  const scope = (item as { context_scope?: unknown }).context_scope;
  return {
    item,
    ancestors,
    context_scope: typeof scope === 'string' ? scope : null,
    dependencies,
    attempt: extra.attempt,
    previous_log: extra.previousLog,
    session_dir: extra.sessionDir,
  };
}

/**
 * What a worker is told about a subtask when the runner has no backlog to look in (a runner
 * working from a source alone): the item itself, no ancestors, and its dependencies by id only.
 */
export function describeWithoutIndex(
  item: Subtask,
  extra: { attempt: number; previousLog: string | null; sessionDir: string },
): ItemDetails {
  const scope = (item as { context_scope?: unknown }).context_scope;
  return {
    item,
    ancestors: [],
    context_scope: typeof scope === 'string' ? scope : null,
    dependencies: (item.dependencies ?? []).map((id) => ({ id, title: null, status: null })),
    attempt: extra.attempt,
    previous_log: extra.previousLog,
    session_dir: extra.sessionDir,
  };
}
