import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SessionError } from '@savepoint/session';
import { afterEach, describe, expect, it } from 'vitest';
import { describePg, freshSchema, useDatabase } from '../test/helpers.ts';
import { checkStoreUrl, openSessionStore } from './index.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'session-store-'));
  dirs.push(dir);
  return dir;
}

function caught(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('checkStoreUrl', () => {
  it('gives back a postgres:// or postgresql:// URL as it is', () => {
    expect(checkStoreUrl('postgres://ann:pw@db.example:5432/pipeline', '--store')).toBe(
      'postgres://ann:pw@db.example:5432/pipeline',
    );
    expect(checkStoreUrl('postgresql://localhost/pipeline')).toBe(
      'postgresql://localhost/pipeline',
    );
  });

  it('refuses an empty URL, naming where it came from', () => {
    const error = caught(() => checkStoreUrl('', '--store'));
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({
      code: 'INVALID_URL',
      message: '--store needs a postgres:// or postgresql:// URL',
    });
  });

  it('refuses what is not a postgres URL, without its password', () => {
    expect(caught(() => checkStoreUrl('mysql://ann:s3cret@db/x', 'SAVEPOINT_STORE'))).toMatchObject(
      {
        code: 'INVALID_URL',
        message: 'SAVEPOINT_STORE must be a postgres:// or postgresql:// URL, got mysql://ann@db/x',
      },
    );
    expect(caught(() => checkStoreUrl('db.example/pipeline'))).toMatchObject({
      code: 'INVALID_URL',
      message:
        'the store URL must be a postgres:// or postgresql:// URL, got (a malformed connection string)',
    });
    const broken = caught(() => checkStoreUrl('postgres://ann:s3cret@[::1/db', '--store'));
    expect(broken).toMatchObject({ code: 'INVALID_URL' });
    expect((broken as Error).message).toMatch(
      /^--store must be a postgres:\/\/ or postgresql:\/\/ URL, got /,
    );
  });
});

describe('openSessionStore', () => {
  it('opens the file store of the plan folder when no URL is given, writing nothing', async () => {
    const dir = tempDir();
    const planDir = join(dir, 'plan');
    const opened = await openSessionStore({ planDir: relative(process.cwd(), planDir) });
    expect(opened.kind).toBe('file');
    expect(opened.planDir).toBe(planDir);
    expect((await opened.store.list()).sessions).toEqual([]);
    await opened.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an empty or malformed URL before connecting', async () => {
    const planDir = tempDir();
    await expect(openSessionStore({ url: '', planDir, urlSource: '--store' })).rejects.toThrow(
      new SessionError('INVALID_URL', '--store needs a postgres:// or postgresql:// URL'),
    );
    const error = await openSessionStore({ url: 'localhost:5432/db', planDir }).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({
      code: 'INVALID_URL',
      message:
        'the store URL must be a postgres:// or postgresql:// URL, got (a malformed connection string)',
    });
  });

  it('fails with IO naming the URL without its password when the server is unreachable', async () => {
    const error = await openSessionStore({
      url: 'postgres://ann:s3cret@127.0.0.1:1/db',
      planDir: tempDir(),
    }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'IO' });
    expect((error as Error).message).toMatch(
      /^cannot use the PostgreSQL store postgres:\/\/ann@127\.0\.0\.1:1\/db: .*ECONNREFUSED/,
    );
  });

  it('throws TypeError without a plan folder', async () => {
    await expect(openSessionStore({} as never)).rejects.toThrow(TypeError);
    await expect(openSessionStore({ planDir: '' })).rejects.toThrow(
      'openSessionStore expected options with a planDir folder, got an empty planDir',
    );
  });
});

describePg('openSessionStore on a server', () => {
  const database = useDatabase();

  it('opens the PostgreSQL store of the URL, its tables made, with the plan folder', async () => {
    const planDir = tempDir();
    const opened = await openSessionStore({
      url: database.url,
      planDir,
      postgres: { schema: freshSchema('ss') },
    });
    try {
      expect(opened.kind).toBe('postgres');
      if (opened.kind !== 'postgres') return;
      expect(opened.url).toBe(database.url);
      expect(opened.planDir).toBe(planDir);
      expect((await opened.store.list()).sessions).toEqual([]);
    } finally {
      await opened.close();
    }
    expect(readdirSync(planDir)).toEqual([]);
  });
});
