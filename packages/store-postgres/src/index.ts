export {
  type BacklogRows,
  backlogToRows,
  type ItemRow,
  rowsToBacklog,
  type StoredItemRow,
} from './backlog-rows.ts';
export {
  claimSql,
  type PostgresClaim,
  type PostgresClaimOutcome,
  type PostgresClaims,
  recordSql,
  renewSql,
} from './claims.ts';
export {
  type ImportResult,
  importSessionFolder,
  redactConnectionString,
} from './import-session.ts';
export type { WaitForWorkOptions, WakeReason } from './internal/listener.ts';
export { type MigrationResult, migrate, SCHEMA_VERSION } from './migrate.ts';
export { isPostgresUrl, openPostgresStore } from './open-store.ts';
export {
  createPostgresStore,
  type PostgresSessionHandle,
  type PostgresStore,
  type PostgresStoreOptions,
  type SessionEvent,
} from './postgres-store.ts';
export { readSharedRunConfig } from './run-config.ts';
export {
  checkStoreUrl,
  type OpenedSessionStore,
  type OpenSessionStoreOptions,
  openSessionStore,
} from './session-store.ts';
export {
  formatJoinOpening,
  formatSharedRunOpening,
  formatSharedWorkInterrupted,
  formatSharedWorkReport,
  type SharedWorkInterruptedReport,
  type SharedWorkReport,
  sharedWorkInterruptedReport,
  sharedWorkReport,
  sharedWorkSummaryLines,
  type ThisProcessWork,
} from './shared-report.ts';
export {
  type SharedWork,
  type SharedWorkOptions,
  type SharedWorkSummary,
  workSharedSession,
} from './shared-run.ts';
export {
  type ClaimsWorkSource,
  createWorkSource,
  type WorkOutcome,
  type WorkSourceOptions,
} from './work-source.ts';
