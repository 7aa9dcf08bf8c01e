export { ProgressError, type ProgressErrorCode, type ProgressErrorOptions } from './errors.ts';
export {
  formatDuration,
  formatPercentage,
  formatRate,
  type ProgressSummary,
  type SummaryInput,
  summary,
  summaryLine,
} from './format.ts';
export { prefixGroups } from './groups.ts';
export { createJsonRenderer, type ProgressSnapshot, toJSON } from './json.ts';
export { createPlainRenderer, type PlainRendererOptions } from './plain.ts';
export {
  type CreateRendererOptions,
  createRenderer,
  detectRendererKind,
  type Env,
  type Renderer,
  type RendererBaseOptions,
  type RenderMode,
  type RenderStream,
} from './renderer.ts';
export {
  type BarFormatOptions,
  createTerminalRenderer,
  formatBar,
  type TerminalRendererOptions,
} from './terminal.ts';
export {
  type CurrentItem,
  type GroupInit,
  type GroupOf,
  type GroupProgress,
  type ItemEvent,
  type ItemInfo,
  type Progress,
  type ProgressEventMap,
  type ProgressEventName,
  type ProgressListener,
  type ProgressSource,
  ProgressTracker,
  type ProgressTrackerOptions,
} from './tracker.ts';
