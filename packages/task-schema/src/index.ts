export {
  type BacklogIndex,
  createBacklogIndex,
  type NextReadyOptions,
  type SetStatusOptions,
} from './backlog-index.ts';
export { checkBacklog } from './check.ts';
export {
  CONTEXT_SCOPE_SECTIONS,
  type LintContextScopeOptions,
  lintContextScope,
} from './context-scope.ts';
export { type StatusTotals, summarizeCounts } from './counts.ts';
export { formatBacklogError } from './error-text.ts';
export { BacklogError, type BacklogErrorCode, type BacklogErrorOptions } from './errors.ts';
export { itemTypeOfId, parentIdOf } from './ids.ts';
export {
  type BacklogIssue,
  type BacklogIssueCode,
  type ContextScopeIssueCode,
  formatIssue,
  formatPath,
  type GraphIssueCode,
  type IssuePath,
  type IssueSeverity,
  type JsonIssueCode,
  type SchemaIssueCode,
} from './issues.ts';
export { formatOutline } from './outline.ts';
export {
  type ParseBacklogOptions,
  parseBacklog,
  type SafeParseBacklogResult,
  safeParseBacklog,
  serializeBacklog,
} from './parse.ts';
export {
  type Backlog,
  type BacklogItem,
  BacklogSchema,
  type ContainerItem,
  IN_FLIGHT_STATUSES,
  type InFlightStatus,
  ITEM_TYPES,
  type ItemType,
  type Milestone,
  MilestoneSchema,
  type Phase,
  PhaseSchema,
  STATUSES,
  type Status,
  StatusSchema,
  type Subtask,
  SubtaskSchema,
  type Task,
  TaskSchema,
  toJsonSchema,
} from './schema.ts';
