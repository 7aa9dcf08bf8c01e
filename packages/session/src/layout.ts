/** File names inside a session folder. */
export const SESSION_FILES = Object.freeze({
  /** The backlog: `{"backlog": [...], "currentItemId": ...}`. */
  tasks: 'tasks.json',
  /** Changes since the snapshot: one framed record per flush. */
  journal: 'tasks.journal',
  /** The PRD exactly as it was when the session began. */
  prdSnapshot: 'prd_snapshot.md',
  /** Delta sessions only: the parent session's folder name. */
  parentSession: 'parent_session.txt',
  /** Written when items failed. */
  errorReport: 'ERROR_REPORT.md',
  /** Written when the QA step found problems. */
  testResults: 'TEST_RESULTS.md',
});

/** The parts of a session folder name such as `001_14b9dc2a33c7`. */
export interface SessionName {
  /** The folder name itself. */
  readonly id: string;
  /** The sequence number (1 for `001_...`). */
  readonly sequence: number;
  /** The 12 hex digits of the PRD hash in the name. */
  readonly hash: string;
}

const SESSION_NAME = /^(\d{3,})_([0-9a-f]{12})$/;
const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RESERVED = new Set<string>([
  SESSION_FILES.tasks,
  SESSION_FILES.journal,
  SESSION_FILES.prdSnapshot,
  SESSION_FILES.parentSession,
]);

/**
 * Parses a session folder name: a sequence of at least three digits, an underscore and twelve
 * lowercase hex digits.
 *
 * @returns the parts, or `undefined` when `name` is not a session folder name
 */
export function parseSessionName(name: string): SessionName | undefined {
  const match = SESSION_NAME.exec(name);
  if (!match) return undefined;
  const sequence = Number(match[1]);
  if (!Number.isSafeInteger(sequence) || sequence < 1) return undefined;
  return { id: name, sequence, hash: match[2]! };
}

/**
 * Builds a session folder name: the sequence padded to three digits (wider when it needs to be),
 * an underscore, and the hash.
 *
 * @throws TypeError when `sequence` is not a positive safe integer or `hash` is not 12 lowercase hex
 */
export function formatSessionName(sequence: number, hash: string): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new TypeError(`formatSessionName expected a positive integer sequence, got ${sequence}`);
  }
  if (typeof hash !== 'string' || !/^[0-9a-f]{12}$/.test(hash)) {
    throw new TypeError(`formatSessionName expected 12 lowercase hex digits, got ${String(hash)}`);
  }
  return `${String(sequence).padStart(3, '0')}_${hash}`;
}

/**
 * Whether `name` may be written with `writeArtifact`: a plain file name (letters, digits, `.`,
 * `_`, `-`, not starting with a dot, at most 128 characters) that is not one of the files the
 * session itself owns (`tasks.json`, `tasks.journal`, `prd_snapshot.md`, `parent_session.txt`).
 */
export function isArtifactName(name: string): boolean {
  return typeof name === 'string' && ARTIFACT_NAME.test(name) && !RESERVED.has(name);
}
