export {
  DecomposeError,
  type DecomposeErrorCode,
  type DecomposeOptions,
  decomposePrd,
  NON_WORK_SECTIONS,
} from './decompose.ts';
