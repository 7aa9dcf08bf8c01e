export { type CarryOver, carryOverComplete } from './carry-over.ts';
export {
  SESSION_ERROR_CODES,
  SessionError,
  type SessionErrorCode,
  type SessionErrorDetails,
  type SessionIssue,
  type SessionLockHolder,
} from './errors.ts';
export {
  createFileStore,
  type FileStoreOptions,
  PLAN_LOCK_NAME,
  sessionLockPath,
} from './file-store.ts';
export { hashPrd, PRD_HASH_LENGTH } from './hash.ts';
export { MIN_COMPACT_BYTES } from './internal/writer.ts';
export {
  formatSessionName,
  isArtifactName,
  parseSessionName,
  SESSION_FILES,
  type SessionName,
} from './layout.ts';
export { createMemoryStore, type MemoryStoreOptions } from './memory-store.ts';
export { pickSession } from './pick-session.ts';
export { readSessions, type SessionReading } from './read-sessions.ts';
export { recoveryHint } from './recovery.ts';
export {
  type BacklogSource,
  type FlushPolicy,
  type InitializeOptions,
  type NewSessionContext,
  type PrdSource,
  type ReadonlyBacklogIndex,
  type SessionLogger,
  SessionManager,
  type SessionManagerBaseOptions,
  type SessionManagerOptions,
  type SessionState,
  type SessionStats,
  type UpdateStatusOptions,
} from './session-manager.ts';
export { formatSessionTable, type SessionRow, sessionRows } from './session-table.ts';
export {
  findLatestSession,
  findSessionByPRD,
  listSessions,
  readSession,
  type SessionMetadata,
  type SessionSnapshot,
} from './sessions.ts';
export type {
  ChangeBatch,
  Claim,
  ClaimOptions,
  ClaimOutcome,
  CreateSessionResult,
  IncompleteSession,
  JournalTail,
  LoadedSession,
  RecordResult,
  SessionClaims,
  SessionDraft,
  SessionHandle,
  SessionListing,
  SessionRef,
  SessionStore,
  SessionSummary,
  SnapshotInput,
  StatusChange,
  StoreWaitOptions,
} from './store.ts';
