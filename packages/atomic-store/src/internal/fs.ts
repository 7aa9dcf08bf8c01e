import * as fs from 'node:fs';

/**
 * Every file-system call the package makes, in one replaceable object. The asynchronous members
 * wrap the callback API by hand: it is measurably cheaper per call than `fs/promises` handles,
 * and the write protocol makes up to a dozen calls per write.
 */
export interface AsyncFs {
  open(path: string, flags: number, mode: number): Promise<number>;
  write(
    fd: number,
    data: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<number>;
  /** Writes a string's encoded bytes at `position`; encoding happens in native code, unpooled. */
  writeString(
    fd: number,
    text: string,
    position: number,
    encoding: BufferEncoding,
  ): Promise<number>;
  read(
    fd: number,
    into: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<number>;
  fstat(fd: number): Promise<fs.Stats>;
  fsync(fd: number): Promise<void>;
  /** Flushes the data (and the size, when it changed) but not other metadata such as mtime. */
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  fchmod(fd: number, mode: number): Promise<void>;
  fchown(fd: number, uid: number, gid: number): Promise<void>;
  close(fd: number): Promise<void>;
  lstat(path: string): Promise<fs.Stats>;
  readlink(path: string): Promise<string>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<string[]>;
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
  realpath(path: string): Promise<string>;
}

/** The synchronous twin of every {@link AsyncFs} member, named with a `Sync` suffix. */
export type SyncFs = {
  [K in keyof AsyncFs as `${K}Sync`]: (
    ...args: Parameters<AsyncFs[K]>
  ) => Awaited<ReturnType<AsyncFs[K]>>;
};

/** The seam: asynchronous and synchronous calls side by side. */
export type FsSeam = AsyncFs & SyncFs;

/** The real calls, kept so that replaced members can be told from the originals. */
export const nodeFs: FsSeam = {
  open: (path, flags, mode) => call<number>((cb) => fs.open(path, flags, mode, cb)),
  write: (fd, data, offset, length, position) =>
    call<number>((cb) => fs.write(fd, data, offset, length, position, cb)),
  writeString: (fd, text, position, encoding) =>
    call<number>((cb) => fs.write(fd, text, position, encoding, cb)),
  read: (fd, into, offset, length, position) =>
    call<number>((cb) => fs.read(fd, into, offset, length, position, cb)),
  fstat: (fd) => call<fs.Stats>((cb) => fs.fstat(fd, cb)),
  fsync: (fd) => callVoid((cb) => fs.fsync(fd, cb)),
  fdatasync: (fd) => callVoid((cb) => fs.fdatasync(fd, cb)),
  ftruncate: (fd, length) => callVoid((cb) => fs.ftruncate(fd, length, cb)),
  fchmod: (fd, mode) => callVoid((cb) => fs.fchmod(fd, mode, cb)),
  fchown: (fd, uid, gid) => callVoid((cb) => fs.fchown(fd, uid, gid, cb)),
  close: (fd) => callVoid((cb) => fs.close(fd, cb)),
  lstat: (path) => call<fs.Stats>((cb) => fs.lstat(path, cb)),
  readlink: (path) => call<string>((cb) => fs.readlink(path, 'utf8', cb)),
  rename: (from, to) => callVoid((cb) => fs.rename(from, to, cb)),
  link: (existing, newPath) => callVoid((cb) => fs.link(existing, newPath, cb)),
  unlink: (path) => callVoid((cb) => fs.unlink(path, cb)),
  readFile: (path) => call<Buffer>((cb) => fs.readFile(path, cb)),
  readdir: (path) => call<string[]>((cb) => fs.readdir(path, 'utf8', cb)),
  utimes: (path, atime, mtime) => callVoid((cb) => fs.utimes(path, atime, mtime, cb)),
  realpath: (path) => call<string>((cb) => fs.realpath(path, 'utf8', cb)),

  openSync: (path, flags, mode) => fs.openSync(path, flags, mode),
  writeSync: (fd, data, offset, length, position) =>
    fs.writeSync(fd, data, offset, length, position),
  writeStringSync: (fd, text, position, encoding) => fs.writeSync(fd, text, position, encoding),
  readSync: (fd, into, offset, length, position) => fs.readSync(fd, into, offset, length, position),
  fstatSync: (fd) => fs.fstatSync(fd),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  fchmodSync: (fd, mode) => fs.fchmodSync(fd, mode),
  fchownSync: (fd, uid, gid) => fs.fchownSync(fd, uid, gid),
  closeSync: (fd) => fs.closeSync(fd),
  lstatSync: (path) => fs.lstatSync(path),
  readlinkSync: (path) => fs.readlinkSync(path, 'utf8'),
  renameSync: (from, to) => fs.renameSync(from, to),
  linkSync: (existing, newPath) => fs.linkSync(existing, newPath),
  unlinkSync: (path) => fs.unlinkSync(path),
  readFileSync: (path) => fs.readFileSync(path),
  readdirSync: (path) => fs.readdirSync(path, 'utf8'),
  utimesSync: (path, atime, mtime) => fs.utimesSync(path, atime, mtime),
  realpathSync: (path) => fs.realpathSync(path, 'utf8'),
};

/**
 * The seam the package calls through. Members are looked up at call time, so replacing one
 * (see {@link replaceFs}) affects every later call.
 *
 * Asynchronous writes make their short metadata calls (`fchmod`, `close`, `link`, `rename`,
 * `unlink` of small files, opening the folder) through the `...Sync` member, unless the
 * asynchronous member has been replaced, in which case that replacement is awaited. Either way a
 * test reaches a step by replacing whichever variant it likes; synchronous writes use only the
 * `...Sync` members.
 */
export const fsx: FsSeam = { ...nodeFs };

/**
 * Replaces some members of the seam and returns a function that puts the originals back.
 * Tests use it to inject a fault at one step of the protocol.
 */
export function replaceFs(overrides: Partial<FsSeam>): () => void {
  const saved: Partial<FsSeam> = {};
  for (const key of Object.keys(overrides) as (keyof FsSeam)[]) {
    (saved as Record<string, unknown>)[key] = fsx[key];
    (fsx as unknown as Record<string, unknown>)[key] = overrides[key];
  }
  return () => {
    Object.assign(fsx, saved);
  };
}

/** `open` flag: write only. */
export const O_WRONLY = fs.constants.O_WRONLY;
/** `open` flag: read only. */
export const O_RDONLY = fs.constants.O_RDONLY;
/** `open` flag: create the file. */
export const O_CREAT = fs.constants.O_CREAT;
/** `open` flag: with `O_CREAT`, fail if the name exists, even as a symbolic link. */
export const O_EXCL = fs.constants.O_EXCL;
/** `open` flag: fail unless it is a folder (0 where the platform lacks it). */
export const O_DIRECTORY = fs.constants.O_DIRECTORY ?? 0;

function call<T>(start: (cb: (error: NodeJS.ErrnoException | null, value: T) => void) => void) {
  return new Promise<T>((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value)));
  });
}

function callVoid(start: (cb: (error: NodeJS.ErrnoException | null) => void) => void) {
  return new Promise<void>((resolve, reject) => {
    start((error) => (error ? reject(error) : resolve()));
  });
}
