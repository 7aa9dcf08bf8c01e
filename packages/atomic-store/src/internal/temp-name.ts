import { hostname } from 'node:os';

/**
 * Temp files are named `.<base>.<host>-<pid>-<random>.tmp`: 6 base-36 characters hashed from the
 * host name, the writer's pid in 7 and 8 random ones. The suffix has a fixed length, and the base
 * is cut so the whole name stays within the 255-byte NAME_MAX of common file systems.
 */
const SUFFIX_BYTES = '.'.length + 6 + 1 + 7 + 1 + 8 + '.tmp'.length;
const NAME_MAX = 255;
const MAX_BASE_BYTES = NAME_MAX - '.'.length - SUFFIX_BYTES;

const TEMP_PATTERN = /^\.(.+)\.([0-9a-z]{6})-([0-9a-z]{7})-([0-9a-z]{8})\.tmp$/s;

let cachedHost: { name: string; tag: string } | undefined;

/** This machine's host name and its 6-character tag. */
export function hostIdentity(): { name: string; tag: string } {
  if (cachedHost === undefined) {
    const name = hostname();
    cachedHost = { name, tag: hostTag(name) };
  }
  return cachedHost;
}

/** The 6-character tag of a host name (32-bit FNV-1a, base 36). */
export function hostTag(name: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 36 ** 6).toString(36).padStart(6, '0');
}

/** A fresh temp name for `base`, owned by this process. */
export function tempName(
  base: string,
  pid: number = process.pid,
  tag = hostIdentity().tag,
): string {
  const random = Math.floor(Math.random() * 36 ** 8)
    .toString(36)
    .padStart(8, '0');
  const pidPart = pid.toString(36).padStart(7, '0').slice(-7);
  return `.${truncateBytes(base, MAX_BASE_BYTES)}.${tag}-${pidPart}-${random}.tmp`;
}

/** What a temp name says about its writer, or `undefined` when `name` is not a temp name. */
export function parseTempName(
  name: string,
): { base: string; tag: string; pid: number } | undefined {
  const match = TEMP_PATTERN.exec(name);
  if (match === null) return undefined;
  return { base: match[1]!, tag: match[2]!, pid: Number.parseInt(match[3]!, 36) };
}

/** `text` cut at a code-point boundary so its UTF-8 form fits in `maxBytes`. */
export function truncateBytes(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
