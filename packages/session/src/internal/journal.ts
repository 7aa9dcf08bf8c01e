import { crc32 } from 'node:zlib';
import { STATUSES, type Status } from '@savepoint/task-schema';
import { SessionError } from '../errors.ts';
import type { ChangeBatch, StatusChange } from '../store.ts';

/**
 * The journal's on-disk format (`tasks.journal`).
 *
 * The file is a sequence of frames. Each frame is a 16-byte header and a UTF-8 JSON payload:
 *
 * ```
 * offset 0  4 bytes  magic "SPJ1"
 * offset 4  u32 LE   payload length in bytes
 * offset 8  u32 LE   CRC-32 of the payload
 * offset 12 u32 LE   CRC-32 of bytes 0..11 (so a damaged length is never trusted)
 * offset 16 ...      payload
 * ```
 *
 * The first frame of a journal is its base: `{"base":{"sequence":S,"size":N,"crc32":C}}` names
 * the snapshot the journal extends (its byte size and CRC-32) and the sequence number that
 * snapshot is at. Every later frame is one batch: `{"seq":n,"s":[[id,status],...],"c":id}`
 * (`c` present only when `currentItemId` changed), numbered S+1, S+2, ... without gaps.
 *
 * A journal whose base does not match `tasks.json` is stale: a compaction wrote the snapshot (which
 * contains all of its batches) and stopped before it emptied the journal. It is ignored.
 */
export const JOURNAL_MAGIC = Buffer.from('SPJ1', 'latin1');
/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 16;

/** The snapshot a journal extends. */
export interface JournalBase {
  /** The sequence number of the last batch the snapshot contains. */
  readonly sequence: number;
  /** The snapshot's size in bytes. */
  readonly size: number;
  /** The CRC-32 of the snapshot's bytes. */
  readonly crc32: number;
}

/** A decoded journal. */
export interface DecodedJournal {
  /** The base frame, or `undefined` for an empty journal (or one whose base was torn). */
  readonly base: JournalBase | undefined;
  /** The batches after the base, in order. */
  readonly batches: ChangeBatch[];
  /** Bytes up to the end of the last whole frame. */
  readonly validBytes: number;
  /** Bytes after that, ignored as a torn tail. */
  readonly discardedBytes: number;
}

/** The base of a snapshot's bytes. */
export function baseOf(snapshot: Uint8Array, sequence: number): JournalBase {
  return { sequence, size: snapshot.byteLength, crc32: crc32(snapshot) };
}

/** Whether `base` names exactly this snapshot. */
export function matchesBase(base: JournalBase, snapshot: Uint8Array): boolean {
  return base.size === snapshot.byteLength && base.crc32 === crc32(snapshot);
}

/** Encodes the base frame. */
export function encodeBase(base: JournalBase): Buffer {
  return frame(
    JSON.stringify({ base: { sequence: base.sequence, size: base.size, crc32: base.crc32 } }),
  );
}

/** `,"<status>"]`, the bytes that close one change, by status. */
const STATUS_TAIL: ReadonlyMap<string, Buffer> = new Map(
  STATUSES.map((status) => [status, Buffer.from(`,"${status}"]`, 'latin1')]),
);
/** The longest {@link STATUS_TAIL}. */
const STATUS_TAIL_MAX = Math.max(...[...STATUS_TAIL.values()].map((tail) => tail.length));

/**
 * Encodes one batch as a frame: `{"seq":n,"s":[[id,status],...],"c":id}`, the bytes
 * `JSON.stringify` would give. Written into one buffer directly: a flush of thousands of changes
 * spends its time here, and building a long string first costs more than writing the bytes. An id
 * of printable ASCII without a quote or a backslash (almost every id) is copied byte by byte; any
 * other goes through `JSON.stringify`.
 */
export function encodeBatch(batch: ChangeBatch): Buffer;
/** As above, or `undefined` when a change is not `{id: string, status: Status}` (checked as it goes). */
export function encodeBatch(batch: ChangeBatch, checked: false): Buffer | undefined;
export function encodeBatch(batch: ChangeBatch, checked = true): Buffer | undefined {
  const { statuses } = batch;
  const head = `{"seq":${batch.sequence},"s":[`;
  const end =
    batch.currentItemId === undefined ? ']}' : `],"c":${JSON.stringify(batch.currentItemId)}}`;
  // Room for every change with a plain id; an id that needs more grows the buffer.
  const endBytes = Buffer.byteLength(end);
  let rest = endBytes; // what the changes not yet written (and the end) take if their ids are plain
  for (let i = 0; i < statuses.length; i++) {
    // Unchecked: a malformed change counts as an empty id and is refused below.
    const id = (statuses[i] as { id?: unknown } | null | undefined)?.id;
    rest += (typeof id === 'string' ? id.length : 0) + STATUS_TAIL_MAX + 4;
  }
  let out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + head.length + rest);
  let at = FRAME_HEADER_BYTES + out.write(head, FRAME_HEADER_BYTES, 'latin1');
  for (let i = 0; i < statuses.length; i++) {
    const change = statuses[i];
    if (!checked && (typeof change !== 'object' || change === null)) return undefined;
    const { id, status } = change!;
    const tail = STATUS_TAIL.get(status);
    if (tail === undefined || typeof id !== 'string') {
      if (checked) throw new TypeError(`not a status change: ${String(id)} ${String(status)}`);
      return undefined;
    }
    rest -= id.length + STATUS_TAIL_MAX + 4;
    if (i > 0) out[at++] = 0x2c; // ,
    out[at++] = 0x5b; // [
    const start = at;
    out[at++] = 0x22; // "
    let plain = true;
    for (let k = 0; k < id.length; k++) {
      const code = id.charCodeAt(k);
      if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) {
        plain = false;
        break;
      }
      out[at++] = code;
    }
    if (plain) out[at++] = 0x22;
    else {
      const quoted = Buffer.from(JSON.stringify(id), 'utf8');
      at = start;
      const needed = at + quoted.length + STATUS_TAIL_MAX + rest;
      if (needed > out.length) {
        const bigger = Buffer.allocUnsafe(Math.max(needed, out.length * 2));
        out.copy(bigger, 0, 0, at);
        out = bigger;
      }
      at += quoted.copy(out, at);
    }
    out.set(tail, at); // a typed-array copy: cheaper than Buffer#copy for a few bytes
    at += tail.length;
  }
  at += out.write(end, at, 'utf8');
  return sealFrame(out, at);
}

/**
 * Decodes a journal. A damaged or partial last frame (a crash mid-append) is a torn tail and is
 * reported in `discardedBytes`; damage with whole frames after it is refused.
 *
 * @param path - the journal's path, for errors
 * @throws SessionError `CORRUPT` naming `path` and the byte offset of the damaged frame
 */
export function decodeJournal(bytes: Uint8Array, path: string): DecodedJournal {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = data.byteLength;
  // First every frame is checked (length and checksums); only then are the payloads parsed.
  const starts: number[] = [];
  const ends: number[] = [];
  let offset = 0;
  while (offset < length) {
    const frameEnd = readFrame(data, offset, path);
    if (frameEnd === undefined) break; // torn tail
    starts.push(offset);
    ends.push(frameEnd);
    offset = frameEnd;
  }
  let base: JournalBase | undefined;
  const batches: ChangeBatch[] = [];
  if (starts.length > 0) {
    base = parseBase(payloadText(data, starts[0]!, ends[0]!), path, starts[0]!);
    const values = parseAll(data, starts, ends, path);
    let expected = base.sequence + 1;
    for (let i = 1; i < starts.length; i++) {
      const batch = toBatch(values[i - 1], path, starts[i]!);
      if (batch.sequence !== expected) {
        throw corrupt(
          path,
          starts[i]!,
          `batch ${batch.sequence} where batch ${expected} was expected (a batch is missing or repeated)`,
        );
      }
      expected += 1;
      batches.push(batch);
    }
  }
  return { base, batches, validBytes: offset, discardedBytes: length - offset };
}

function payloadText(data: Buffer, start: number, end: number): string {
  return data.toString('utf8', start + FRAME_HEADER_BYTES, end);
}

/**
 * Parses the payloads of frames 1.. as one JSON array: one string and one parse instead of one
 * per record, which is most of what loading a long journal costs. Each payload passed its
 * checksum, so a parse error is rare; then each is parsed alone to name the record at fault.
 */
function parseAll(data: Buffer, starts: number[], ends: number[], path: string): unknown[] {
  if (starts.length < 2) return [];
  let size = 2;
  for (let i = 1; i < starts.length; i++) size += ends[i]! - starts[i]! - FRAME_HEADER_BYTES + 1;
  const joined = Buffer.allocUnsafe(size);
  let at = 0;
  joined[at++] = 0x5b; // [
  for (let i = 1; i < starts.length; i++) {
    if (i > 1) joined[at++] = 0x2c; // ,
    at += data.copy(joined, at, starts[i]! + FRAME_HEADER_BYTES, ends[i]!);
  }
  joined[at++] = 0x5d; // ]
  let values: unknown;
  try {
    values = JSON.parse(joined.toString('utf8', 0, at));
  } catch {
    values = undefined;
  }
  // A payload such as `1,2` would parse as two values: the count tells.
  if (Array.isArray(values) && values.length === starts.length - 1) return values;
  return starts
    .slice(1)
    .map((start, i) => parseJson(payloadText(data, start, ends[i + 1]!), path, start));
}

/** Checks the batch shape given to a store; returns a message when it is malformed. */
export function checkBatch(batch: unknown): string | undefined {
  const problem = checkBatchHead(batch);
  if (problem) return problem;
  for (const change of (batch as ChangeBatch).statuses as unknown[]) {
    if (!isStatusChange(change)) return STATUS_CHANGES;
  }
  return undefined;
}

/** What {@link checkBatch} says of a malformed status change. */
export const STATUS_CHANGES = 'statuses of {id: string, status: Status}';

/**
 * {@link checkBatch} without the status changes, for a caller that checks those as it encodes
 * them ({@link encodeBatch} with `checked` false).
 */
export function checkBatchHead(batch: unknown): string | undefined {
  if (typeof batch !== 'object' || batch === null) return 'a change batch object';
  const { sequence, statuses, currentItemId } = batch as Partial<ChangeBatch>;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) {
    return 'a positive integer sequence';
  }
  if (!Array.isArray(statuses)) return 'a statuses array';
  if (currentItemId !== undefined && currentItemId !== null && typeof currentItemId !== 'string') {
    return 'currentItemId to be a string, null or undefined';
  }
  return undefined;
}

const STATUS_SET: ReadonlySet<string> = new Set(STATUSES);

function isStatusChange(value: unknown): value is StatusChange {
  if (typeof value !== 'object' || value === null) return false;
  const { id, status } = value as { id?: unknown; status?: unknown };
  return typeof id === 'string' && typeof status === 'string' && STATUS_SET.has(status);
}

function frame(json: string): Buffer {
  const length = Buffer.byteLength(json, 'utf8');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  out.write(json, FRAME_HEADER_BYTES, 'utf8');
  return sealFrame(out, out.length);
}

/** Writes the header of the frame whose payload is `out[FRAME_HEADER_BYTES..end)`; returns the frame. */
function sealFrame(out: Buffer, end: number): Buffer {
  JOURNAL_MAGIC.copy(out, 0);
  out.writeUInt32LE(end - FRAME_HEADER_BYTES, 4);
  out.writeUInt32LE(crc32(out.subarray(FRAME_HEADER_BYTES, end)), 8);
  out.writeUInt32LE(crc32(out.subarray(0, 12)), 12);
  return end === out.length ? out : out.subarray(0, end);
}

/**
 * The end offset of the whole frame at `offset`, or `undefined` when the frame is a torn tail.
 * A torn tail is: fewer bytes than a header; a damaged header followed only by zero bytes (the
 * file grew but the data never reached the disk); an intact header whose payload runs past the
 * end of the file; or a damaged payload that ends exactly at the end of the file.
 */
function readFrame(data: Buffer, offset: number, path: string): number | undefined {
  const remaining = data.byteLength - offset;
  if (remaining < FRAME_HEADER_BYTES) return undefined;
  const headerOk =
    data.compare(JOURNAL_MAGIC, 0, 4, offset, offset + 4) === 0 &&
    crc32(data.subarray(offset, offset + 12)) === data.readUInt32LE(offset + 12);
  if (!headerOk) {
    if (allZero(data, offset)) return undefined;
    throw corrupt(path, offset, 'a damaged record header');
  }
  const end = offset + FRAME_HEADER_BYTES + data.readUInt32LE(offset + 4);
  if (end > data.byteLength) return undefined;
  if (crc32(data.subarray(offset + FRAME_HEADER_BYTES, end)) !== data.readUInt32LE(offset + 8)) {
    if (end === data.byteLength) return undefined;
    throw corrupt(path, offset, 'a record whose checksum does not match');
  }
  return end;
}

function allZero(data: Buffer, from: number): boolean {
  for (let i = from; i < data.byteLength; i++) if (data[i] !== 0) return false;
  return true;
}

function parseBase(payload: string, path: string, offset: number): JournalBase {
  const value = parseJson(payload, path, offset) as { base?: Partial<JournalBase> };
  const base = value?.base;
  if (
    typeof base !== 'object' ||
    base === null ||
    !isCount(base.sequence) ||
    !isCount(base.size) ||
    !isCount(base.crc32)
  ) {
    throw corrupt(path, offset, 'a first record that is not the journal base');
  }
  return { sequence: base.sequence, size: base.size, crc32: base.crc32 };
}

function toBatch(parsed: unknown, path: string, offset: number): ChangeBatch {
  const value = parsed as {
    seq?: unknown;
    s?: unknown;
    c?: unknown;
  };
  if (typeof value !== 'object' || value === null || !isCount(value.seq) || value.seq < 1) {
    throw corrupt(path, offset, 'a record without a batch number');
  }
  if (!Array.isArray(value.s)) throw corrupt(path, offset, 'a record without status changes');
  const statuses: StatusChange[] = [];
  for (const entry of value.s as unknown[]) {
    if (
      !Array.isArray(entry) ||
      typeof entry[0] !== 'string' ||
      typeof entry[1] !== 'string' ||
      !STATUS_SET.has(entry[1])
    ) {
      throw corrupt(path, offset, 'a record with a malformed status change');
    }
    statuses.push({ id: entry[0], status: entry[1] as Status });
  }
  if ('c' in value && value.c !== null && typeof value.c !== 'string') {
    throw corrupt(path, offset, 'a record with a malformed currentItemId');
  }
  return {
    sequence: value.seq,
    statuses,
    ...('c' in value ? { currentItemId: value.c as string | null } : {}),
  };
}

function parseJson(payload: string, path: string, offset: number): unknown {
  try {
    return JSON.parse(payload);
  } catch (cause) {
    throw corrupt(path, offset, 'a record that is not JSON', cause);
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function corrupt(path: string, offset: number, what: string, cause?: unknown): SessionError {
  return new SessionError(
    'CORRUPT',
    `${path} is damaged at byte ${offset}: ${what}. Records before it are intact; restore the file from a backup or remove it to fall back to tasks.json`,
    { path, offset, ...(cause !== undefined ? { cause } : {}) },
  );
}
