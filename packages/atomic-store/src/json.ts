import { basename, dirname, join } from 'node:path';
import { syncDirectory } from './directory.ts';
import { describeValue, errnoOf, StoreError, toStoreError } from './errors.ts';
import { fsx, O_CREAT, O_EXCL, O_WRONLY } from './internal/fs.ts';
import { lineAndColumn, locateJsonError } from './internal/json-position.ts';
import { type Durability, unlinkQuietly } from './internal/protocol.ts';
import { io, type Steps } from './internal/run.ts';
import { tempName } from './internal/temp-name.ts';
import type { StandardSchemaV1 } from './standard-schema.ts';
import { enqueueWrite, flushWrites, readSettings, type Settings, writeNow } from './write.ts';

/**
 * Reads and parses a JSON file, and validates it when a schema is given (any Standard Schema,
 * zod 4 included; the schema's output, transforms applied, is returned).
 *
 * Fails with a {@link StoreError}: `NOT_FOUND` (step `read`) for a missing file, `INVALID_JSON`
 * (step `parse`, with `line` and `column`) for a syntax error, an empty file included, and
 * `SCHEMA` (step `validate`, with `issues`) for a value the schema rejects. A UTF-8 byte order
 * mark is ignored.
 *
 * @example
 * ```ts
 * const config = await readJsonFile('config.json', z.object({ retries: z.number() }));
 * ```
 */
export function readJsonFile<S extends StandardSchemaV1>(
  path: string,
  schema: S,
): Promise<StandardSchemaV1.InferOutput<S>>;
/** Reads and parses a JSON file without validation; `T` is taken on trust. */
export function readJsonFile<T = unknown>(path: string): Promise<T>;
export async function readJsonFile(path: string, schema?: StandardSchemaV1): Promise<unknown> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(
      `readJsonFile: expected a non-empty path string, got ${describeValue(path)}`,
    );
  }
  checkSchema('readJsonFile', schema);
  return (await readJsonText(path, schema)).value;
}

/** Options of {@link createJsonFile}. */
export interface JsonFileOptions<T> {
  /** Validates what `load` reads (and what `save` writes, with `validateOnSave`). */
  schema?: StandardSchemaV1<unknown, T>;
  /**
   * Turns a value into the file's text.
   * @default 2-space JSON followed by a newline
   */
  serialize?: (value: T) => string;
  /**
   * Validate every saved value with `schema` first; a failure rejects with `SCHEMA` and writes
   * nothing. The value is written as given, not as the schema's output.
   * @default false
   */
  validateOnSave?: boolean;
  /**
   * Keep `<name>.bak`, the version this store last read or wrote, before each save replaces it.
   * Costs one hard link per save (a copy on file systems without hard links).
   * @default false
   */
  backup?: boolean;
  /**
   * When `load` finds invalid JSON or a schema failure, move the file aside as
   * `<name>.corrupt-<timestamp>` and recover from `<name>.bak` (with `backup`), written back in
   * place, or else from `defaultValue`. Without this option a corrupt file is never touched.
   * @default false
   */
  recoverCorrupt?: boolean;
  /**
   * What `load` returns when the file does not exist (nothing is written until a save).
   * Without it, a missing file fails with `NOT_FOUND`.
   */
  defaultValue?: () => T;
  /** Called after a corrupt file was moved aside and a value recovered. */
  onRecover?: (event: JsonRecoverEvent) => void;
  /**
   * See {@link WriteOptions.durability}.
   * @default 'full'
   */
  durability?: Durability;
  /**
   * Let a burst of saves write only the latest value; each `save` still resolves only once a
   * value at least as new as its own is on disk.
   * @default true
   */
  coalesce?: boolean;
  /**
   * Mode of the file when a save creates it.
   * @default 0o644
   */
  mode?: number;
}

/** What {@link JsonFileOptions.onRecover} is told. */
export interface JsonRecoverEvent {
  /** The error the corrupt file caused. */
  error: StoreError;
  /** Where the corrupt file now is. */
  keptAs: string;
  /** Where the returned value came from. */
  recoveredFrom: 'backup' | 'default';
}

/** A JSON file with typed, validated, durable reads and writes. Made by {@link createJsonFile}. */
export interface JsonFile<T> {
  /** The file's path, as given. */
  readonly path: string;
  /** Waits for queued saves, then reads, parses and validates the file. */
  load(): Promise<T>;
  /** Writes `value` durably; resolves once it (or a newer value) is on disk. */
  save(value: T): Promise<void>;
  /** Writes `value` synchronously, superseding queued saves. For the last moments of a process. */
  saveSync(value: T): void;
  /**
   * Applies `fn` to the latest value (the last one saved or loaded by this store, loaded from disk
   * the first time) and saves its result. Updates run one after another in call order; each
   * resolves with its new value once that is on disk. Other processes are not excluded: combine
   * with {@link acquireLock} for that.
   */
  update(fn: (current: T) => T | Promise<T>): Promise<T>;
  /** Resolves once every save queued so far has settled. */
  flush(): Promise<void>;
}

/**
 * A JSON file store: `load`, `save`, `saveSync`, `update`, validated through any Standard Schema
 * and written with the durable protocol of {@link writeFileAtomic}, coalescing bursts by default.
 *
 * @example
 * ```ts
 * const file = createJsonFile('plan/001_ab12/tasks.json', { schema: BacklogFile, backup: true });
 * const backlog = await file.load();
 * await file.update((current) => ({ ...current, currentItemId: 'P1.M1.T1.S2' }));
 * ```
 */
export function createJsonFile<T = unknown>(
  path: string,
  options: JsonFileOptions<T> = {},
): JsonFile<T> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(
      `createJsonFile: expected a non-empty path string, got ${describeValue(path)}`,
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `createJsonFile: expected an options object, got ${describeValue(options)}`,
    );
  }
  checkSchema('createJsonFile', options.schema);
  for (const name of ['serialize', 'defaultValue', 'onRecover'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(
        `createJsonFile: expected options.${name} as a function, got ${describeValue(value)}`,
      );
    }
  }
  for (const name of ['validateOnSave', 'backup', 'recoverCorrupt'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new TypeError(
        `createJsonFile: expected options.${name} as a boolean, got ${describeValue(value)}`,
      );
    }
  }
  if (options.validateOnSave === true && options.schema === undefined) {
    throw new TypeError('createJsonFile: validateOnSave needs options.schema, got none');
  }
  const settings = readSettings('createJsonFile', path, '', {
    durability: options.durability,
    coalesce: options.coalesce ?? true,
    mode: options.mode,
  });
  return new JsonFileStore(path, options, settings);
}

class JsonFileStore<T> implements JsonFile<T> {
  readonly path: string;
  readonly #options: JsonFileOptions<T>;
  readonly #settings: Settings;
  /** The latest value given to save or read by load; `update` starts from it. */
  #latest: { value: T } | undefined;
  /** Whether the file on disk is a version this store validated, and so may become the `.bak`. */
  #knownGood = false;
  /** Saves waiting for an asynchronous validation; later saves queue behind them. */
  #checking: Promise<unknown> | undefined;
  #updates: Promise<unknown> = Promise.resolve();
  /** Bumped by saveSync: saves still being validated then skip their write. */
  #epoch = 0;

  constructor(path: string, options: JsonFileOptions<T>, settings: Settings) {
    this.path = path;
    this.#options = options;
    this.#settings = settings;
  }

  async load(): Promise<T> {
    await flushWrites(this.path);
    try {
      const { value } = await readJsonText<T>(this.path, this.#options.schema);
      this.#latest = { value };
      this.#knownGood = true;
      return value;
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      const { defaultValue, recoverCorrupt } = this.#options;
      if (error.code === 'NOT_FOUND' && error.step === 'read' && defaultValue !== undefined) {
        const value = defaultValue();
        this.#latest = { value };
        this.#knownGood = false;
        return value;
      }
      if ((error.code === 'INVALID_JSON' || error.code === 'SCHEMA') && recoverCorrupt === true) {
        return this.#recover(error);
      }
      throw error;
    }
  }

  save(value: T): Promise<void> {
    try {
      const submitted = this.#submit(value);
      return 'durable' in submitted ? submitted.durable : submitted.then((next) => next.durable);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  saveSync(value: T): void {
    const { schema, validateOnSave } = this.#options;
    if (validateOnSave === true && schema !== undefined) {
      const result = schema['~standard'].validate(value);
      if (result instanceof Promise) {
        result.catch(() => undefined);
        throw new TypeError(
          'JsonFile.saveSync: expected a schema that validates synchronously, got one that returned a promise',
        );
      }
      if (result.issues !== undefined) throw schemaError(this.path, result.issues);
    }
    const text = this.#serialize(value);
    writeNow(this.path, text, this.#settings, this.#backupHook());
    this.#epoch++;
    this.#latest = { value };
    this.#knownGood = true;
  }

  update(fn: (current: T) => T | Promise<T>): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(
        new TypeError(`JsonFile.update: expected a function, got ${describeValue(fn)}`),
      );
    }
    // Updates are ordered only up to the moment their value is queued; the disk writes then
    // coalesce, so a burst of updates costs about one write.
    const run = async () => {
      const current = this.#latest !== undefined ? this.#latest.value : await this.load();
      const next = await fn(current);
      const submitted = await this.#submit(next);
      return { next, durable: submitted.durable };
    };
    const step = this.#updates.then(run, run);
    this.#updates = step.then(noop, noop);
    return step.then(({ next, durable }) => durable.then(() => next));
  }

  flush(): Promise<void> {
    return flushWrites(this.path);
  }

  #submit(value: T): Submitted | Promise<Submitted> {
    const { schema, validateOnSave } = this.#options;
    if (validateOnSave !== true || schema === undefined) {
      if (this.#checking === undefined) return { durable: this.#enqueue(value) };
      return this.#after(this.#checking, value);
    }
    if (this.#checking === undefined) {
      const result = schema['~standard'].validate(value);
      if (!(result instanceof Promise)) {
        if (result.issues !== undefined) throw schemaError(this.path, result.issues);
        return { durable: this.#enqueue(value) };
      }
      return this.#after(
        result.then((outcome) => this.#checked(outcome)),
        value,
      );
    }
    const checked = this.#checking.then(async () =>
      this.#checked(await schema['~standard'].validate(value)),
    );
    return this.#after(checked, value);
  }

  #checked(result: StandardSchemaV1.Result<T>): void {
    if (result.issues !== undefined) throw schemaError(this.path, result.issues);
  }

  #after(before: Promise<unknown>, value: T): Promise<Submitted> {
    const epoch = this.#epoch;
    const step = before.then(() => ({
      durable: epoch === this.#epoch ? this.#enqueue(value) : Promise.resolve(),
    }));
    const tail = step.then(noop, noop);
    this.#checking = tail;
    void tail.then(() => {
      if (this.#checking === tail) this.#checking = undefined;
    });
    return step;
  }

  #enqueue(value: T): Promise<void> {
    const text = this.#serialize(value);
    this.#latest = { value };
    const written = enqueueWrite(this.path, text, this.#settings, this.#backupHook());
    written.then(
      () => {
        this.#knownGood = true;
      },
      () => {
        // The disk may not hold what update() would build on: read it again next time.
        if (this.#latest?.value === value) this.#latest = undefined;
      },
    );
    return written;
  }

  #serialize(value: T): string {
    const serialize = this.#options.serialize ?? defaultSerialize;
    const text = serialize(value);
    if (typeof text !== 'string') {
      throw new TypeError(
        `JsonFile: expected serialize to return a string, got ${describeValue(text)}`,
      );
    }
    return text;
  }

  #backupHook() {
    return this.#options.backup === true && this.#knownGood ? backupSteps : undefined;
  }

  async #recover(error: StoreError): Promise<T> {
    let real: string;
    let keptAs: string;
    try {
      real = await fsx.realpath(this.path);
      keptAs = await moveAside(real);
      await syncDirectory(dirname(real));
    } catch (cause) {
      throw toStoreError(cause, 'recover', this.path);
    }
    this.#knownGood = false;
    const { backup, defaultValue, onRecover } = this.#options;
    if (backup === true) {
      let good: { value: T; text: string } | undefined;
      try {
        good = await readJsonText<T>(`${real}.bak`, this.#options.schema);
      } catch (backupError) {
        if (!(backupError instanceof StoreError)) throw backupError;
      }
      if (good !== undefined) {
        // Put the last good version back in place, so the folder is whole again right away.
        await enqueueWrite(this.path, good.text, this.#settings, undefined);
        this.#latest = { value: good.value };
        this.#knownGood = true;
        onRecover?.({ error, keptAs, recoveredFrom: 'backup' });
        return good.value;
      }
    }
    if (defaultValue !== undefined) {
      const value = defaultValue();
      this.#latest = { value };
      onRecover?.({ error, keptAs, recoveredFrom: 'default' });
      return value;
    }
    throw new StoreError(error.code, `${error.message} (the file was moved to ${keptAs})`, {
      path: error.path,
      step: error.step,
      cause: error.cause,
      line: error.line,
      column: error.column,
      issues: error.issues,
    });
  }
}

type Submitted = { durable: Promise<void> };

/** Reads, parses and validates; keeps the text for callers that write it back. */
async function readJsonText<T>(
  path: string,
  schema: StandardSchemaV1 | undefined,
): Promise<{ value: T; text: string }> {
  let text: string;
  try {
    text = (await fsx.readFile(path)).toString('utf8');
  } catch (error) {
    throw toStoreError(error, 'read', path);
  }
  const parsed = parseJson(path, text);
  if (schema === undefined) return { value: parsed as T, text };
  let result = schema['~standard'].validate(parsed);
  if (result instanceof Promise) result = await result;
  if (result.issues !== undefined) throw schemaError(path, result.issues);
  return { value: result.value as T, text };
}

function parseJson(path: string, text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (cause) {
    const { offset, problem } = locateJsonError(body) ?? { offset: 0, problem: 'invalid JSON' };
    const { line, column } = lineAndColumn(body, offset);
    throw new StoreError(
      'INVALID_JSON',
      `${path} is not valid JSON: ${problem} at line ${line}, column ${column}`,
      { path, step: 'parse', cause, line, column },
    );
  }
}

function schemaError(path: string, issues: ReadonlyArray<StandardSchemaV1.Issue>): StoreError {
  const first = issues[0];
  const where = first?.path?.length
    ? first.path.map((part) => String(typeof part === 'object' ? part.key : part)).join('.')
    : '(root)';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new StoreError(
    'SCHEMA',
    `${path} does not match its schema: ${where}: ${first?.message ?? 'invalid'}${more}`,
    { path, step: 'validate', issues },
  );
}

function checkSchema(caller: string, schema: unknown): void {
  if (schema === undefined) return;
  const props =
    typeof schema === 'object' || typeof schema === 'function'
      ? (schema as { '~standard'?: { validate?: unknown } } | null)?.['~standard']
      : undefined;
  if (typeof props?.validate !== 'function') {
    throw new TypeError(
      `${caller}: expected a Standard Schema (an object with ~standard.validate), got ${describeValue(schema)}`,
    );
  }
}

async function moveAside(file: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  for (let n = 0; ; n++) {
    const aside = `${file}.corrupt-${stamp}${n === 0 ? '' : `-${n}`}`;
    try {
      await fsx.lstat(aside);
      continue;
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
    }
    await fsx.rename(file, aside);
    return aside;
  }
}

/** Keeps the version about to be replaced as `<file>.bak`, by hard link where possible. */
function* backupSteps(file: string, exists: boolean, durability: Durability): Steps<void> {
  if (!exists) return;
  const bak = `${file}.bak`;
  const temp = join(dirname(file), tempName(basename(bak)));
  try {
    yield* io('link', file, temp);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === 'ENOENT') return;
    if (errno === undefined || !NO_HARD_LINKS.has(errno)) throw error;
    yield* copySteps(file, temp, durability);
  }
  try {
    yield* io('rename', temp, bak);
  } catch (error) {
    yield* unlinkQuietly(temp);
    throw error;
  }
}

function* copySteps(from: string, to: string, durability: Durability): Steps<void> {
  const data = yield* io('readFile', from);
  const fd = yield* io('open', to, O_WRONLY | O_CREAT | O_EXCL, 0o644);
  try {
    for (let offset = 0; offset < data.byteLength; ) {
      const written = yield* io('write', fd, data, offset, data.byteLength - offset, offset);
      if (!(written > 0)) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      offset += written;
    }
    if (durability !== 'none') yield* io('fsync', fd);
  } catch (error) {
    yield* io('close', fd);
    yield* unlinkQuietly(to);
    throw error;
  }
  yield* io('close', fd);
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

function defaultSerialize(value: unknown): string {
  const json: string | undefined = JSON.stringify(value, null, 2);
  if (json === undefined) {
    throw new TypeError(
      `JsonFile: expected a JSON-serialisable value, got ${describeValue(value)}`,
    );
  }
  return `${json}\n`;
}

function noop(): void {}
