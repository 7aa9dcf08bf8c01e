import { createHash } from 'node:crypto';

/** The number of hex digits of a PRD hash used in session folder names. */
export const PRD_HASH_LENGTH = 12;

/**
 * Hashes a PRD the way session folders are named: the first 12 hex digits of the SHA-256 of its
 * bytes. A string is hashed as its UTF-8 encoding, so `hashPrd(text)` equals
 * `hashPrd(await readFile(path))` for a UTF-8 file holding `text`.
 *
 * @param prd - the PRD's text or raw bytes
 * @returns twelve lowercase hex digits, e.g. `'14b9dc2a33c7'`
 * @throws TypeError when `prd` is neither a string nor a `Uint8Array`
 */
export function hashPrd(prd: string | Uint8Array): string {
  if (typeof prd !== 'string' && !(prd instanceof Uint8Array)) {
    throw new TypeError(`hashPrd expected a string or Uint8Array, got ${describe(prd)}`);
  }
  return createHash('sha256').update(prd).digest('hex').slice(0, PRD_HASH_LENGTH);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
