import type { SessionDraft } from '../store.ts';

/** Argument checks the stores share: misuse throws a `TypeError` saying what was given. */

/** Throws a `TypeError` unless `draft` is a {@link SessionDraft}. */
export function checkDraft(draft: SessionDraft): void {
  if (
    typeof draft !== 'object' ||
    draft === null ||
    typeof draft.hash !== 'string' ||
    !/^[0-9a-f]{12}$/.test(draft.hash) ||
    (typeof draft.prdSnapshot !== 'string' && !(draft.prdSnapshot instanceof Uint8Array)) ||
    typeof draft.tasksText !== 'string' ||
    (draft.parentSession !== null && typeof draft.parentSession !== 'string')
  ) {
    throw new TypeError(
      `create expected {hash: 12 hex digits, prdSnapshot, tasksText, parentSession}, got ${show(draft)}`,
    );
  }
}

/** A short description of a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : String(value);
}
