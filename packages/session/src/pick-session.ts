import { SessionError } from './errors.ts';
import { SessionManager } from './session-manager.ts';
import type { SessionStore, SessionSummary } from './store.ts';

/**
 * The session of `store` that `wanted` names: its id (`001_14b9dc2a33c7`), its sequence number
 * (`1`) or its PRD hash (`14b9dc2a33c7`); the latest session when `wanted` is `undefined`. Made
 * for a command-line option such as `--session`.
 *
 * @example
 * const session = await pickSession(createFileStore('plan'), process.argv[2]);
 * const snapshot = await readSession(session.path);
 * @throws SessionError `NOT_FOUND` when the store has no session at all (its `id` is then
 *   `undefined`), or none that `wanted` names (the message lists the ids there are);
 *   `INCOMPLETE_SESSION` when a session of the store is damaged
 */
export async function pickSession(
  store: SessionStore,
  wanted?: string | undefined,
): Promise<SessionSummary> {
  const all = await new SessionManager({ store }).listSessions();
  if (wanted === undefined) {
    const latest = all.at(-1);
    if (!latest) throw new SessionError('NOT_FOUND', `no session in ${store.location}`);
    return latest;
  }
  const match = all.find(
    (s) =>
      s.id === wanted ||
      (/^\d+$/.test(wanted) && s.sequence === Number(wanted)) ||
      s.hash === wanted,
  );
  if (!match) {
    const known = all.map((s) => s.id).join(', ') || 'none';
    throw new SessionError(
      'NOT_FOUND',
      `no session '${wanted}' in ${store.location} (sessions: ${known})`,
      { id: wanted },
    );
  }
  return match;
}
