export {
  type CommandResult,
  type CommandWorkerOptions,
  commandWorker,
  type RunCommandOptions,
  runCommand,
} from './command-worker.ts';
export {
  RUNNER_ERROR_CODES,
  RunnerError,
  type RunnerErrorCode,
  type RunnerErrorDetails,
} from './errors.ts';
export { type EventTextOptions, formatRunnerEvent } from './event-text.ts';
export { GROUPS_FILE, reapWorkDir } from './internal/process-groups.ts';
export {
  describeItem,
  describeWithoutIndex,
  ENV_VALUE_LIMIT,
  safeEnvValue,
} from './item-details.ts';
export {
  formatItemOverview,
  type ItemBrief,
  type ItemOverview,
  itemOverview,
} from './item-overview.ts';
export {
  type OpenedRun,
  type OpenRunOptions,
  openRun,
  type PreviewRunOptions,
  previewRun,
  type ResolveRunConfigOptions,
  type RunPreview,
  resolveRunConfig,
} from './open-run.ts';
export { type PlannerOptions, runPlanner } from './planner.ts';
export { type QaStepOptions, type QaStepResult, runQaStep } from './qa-step.ts';
export {
  formatReadySubtasks,
  type ReadySubtask,
  readySubtasks,
} from './ready-subtasks.ts';
export { blockedSubtasks, errorReport, syncErrorReport, testResults } from './report.ts';
export {
  formatRunConfig,
  mergeRunConfig,
  parseRunConfig,
  RUN_CONFIG_FILE,
  type RunConfig,
  type RunConfigInput,
  readRunConfig,
  writeRunConfig,
} from './run-config.ts';
export {
  type FailedItem,
  failedItems,
  formatInterruptedRun,
  formatRunOpening,
  formatRunReport,
  type InterruptedRunReport,
  interruptedRunReport,
  type OpenedSessionInfo,
  type QaOutcome,
  type RunReport,
  type RunReportBase,
  type RunReportInput,
  runOpening,
  runReport,
  runSummaryLines,
} from './run-report.ts';
export { createRunner, type Runner, type RunnerOptions } from './runner.ts';
export {
  type FormatSessionStatusOptions,
  formatSessionStatus,
  type SessionStatus,
  type SessionStatusOptions,
  STATUS_LIST_LIMIT,
  sessionStatus,
} from './session-status.ts';
export { type SetStatusResult, setItemStatus } from './set-status.ts';
export { simulatedWorker } from './simulate.ts';
export type {
  AncestorInfo,
  DependencyInfo,
  FailureRecord,
  ItemDetails,
  RunnerEvent,
  RunSummary,
  Worker,
  WorkerContext,
  WorkerReturn,
  WorkResult,
} from './types.ts';
export {
  createSessionSource,
  GROUP_COMMIT_MS,
  type OutcomeStatus,
  type SessionSourceOptions,
  type WorkSource,
} from './work-source.ts';
