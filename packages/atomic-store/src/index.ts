export {
  type AppendFile,
  type AppendFileOptions,
  appendFileDurable,
  appendFileDurableSync,
  openAppendFile,
  openAppendFileSync,
} from './append.ts';
export { syncDirectory, syncDirectorySync } from './directory.ts';
export {
  type EnvironmentProblem,
  type EnvironmentProblemOptions,
  environmentProblem,
} from './environment.ts';
export {
  StoreError,
  type StoreErrorCode,
  type StoreErrorDetails,
  type StoreStep,
} from './errors.ts';
export {
  createJsonFile,
  type JsonFile,
  type JsonFileOptions,
  type JsonRecoverEvent,
  readJsonFile,
} from './json.ts';
export {
  acquireLock,
  type Lock,
  type LockHolder,
  type LockOptions,
  readLockHolder,
} from './lock.ts';
export type { StandardSchemaV1 } from './standard-schema.ts';
export { type SweepOptions, sweepTempFiles } from './temp-files.ts';
export {
  type Durability,
  flushWrites,
  type WriteOptions,
  writeFileAtomic,
  writeFileAtomicSync,
} from './write.ts';
