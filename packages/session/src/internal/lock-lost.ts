import { SessionError } from '../errors.ts';

/** The `LOCK_LOST` error for a session whose hold was lost. */
export function lockLost(where: { id: string; path: string }, reason: unknown): SessionError {
  const holder = (reason as { holder?: { pid?: unknown; hostname?: unknown } } | undefined)?.holder;
  const hasPid = holder !== undefined && typeof holder.pid === 'number';
  const by = hasPid
    ? `taken over by pid ${holder.pid}${typeof holder.hostname === 'string' ? ` on ${holder.hostname}` : ''}`
    : 'removed or taken over';
  return new SessionError(
    'LOCK_LOST',
    `the lock of session ${where.id} was ${by}; not writing over another process`,
    {
      path: where.path,
      id: where.id,
      ...(hasPid
        ? {
            holder: {
              pid: holder.pid as number,
              ...(typeof holder.hostname === 'string' ? { hostname: holder.hostname } : {}),
            },
          }
        : {}),
      cause: reason,
    },
  );
}
