import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { entries, freshDir, osError, patchFs } from '../test/helpers.ts';
import { StoreError } from './errors.ts';
import { fsx } from './internal/fs.ts';
import { parseTempName } from './internal/temp-name.ts';
import { createJsonFile, type JsonRecoverEvent, readJsonFile } from './json.ts';

const Task = z.object({
  id: z.string(),
  status: z.enum(['Planned', 'Complete']),
});
const Backlog = z.object({ tasks: z.array(Task), currentItemId: z.string().nullable() });
type Backlog = z.infer<typeof Backlog>;

const sample: Backlog = {
  tasks: [{ id: 'P1.M1.T1.S1', status: 'Planned' }],
  currentItemId: null,
};

function countRenames(): { count: number } {
  const counter = { count: 0 };
  const real = { rename: fsx.rename, renameSync: fsx.renameSync };
  const isWrite = (from: string, to: string) =>
    parseTempName(basename(from)) !== undefined && parseTempName(basename(to)) === undefined;
  patchFs({
    rename: async (from, to) => {
      if (isWrite(from, to)) counter.count++;
      return real.rename(from, to);
    },
    renameSync: (from, to) => {
      if (isWrite(from, to)) counter.count++;
      return real.renameSync(from, to);
    },
  });
  return counter;
}

describe('readJsonFile', () => {
  it('parses, skips a byte order mark, and returns the schema output', async () => {
    const dir = freshDir();
    const path = join(dir, 'a.json');
    writeFileSync(path, '\uFEFF{"n": "41"}');
    expect(await readJsonFile(path)).toEqual({ n: '41' });
    const schema = z.object({ n: z.string().transform(Number) });
    const value: { n: number } = await readJsonFile(path, schema);
    expect(value).toEqual({ n: 41 });
  });

  it('fails with NOT_FOUND for a missing file', async () => {
    const dir = freshDir();
    const error = await readJsonFile(join(dir, 'missing.json')).catch((caught) => caught);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      step: 'read',
      path: join(dir, 'missing.json'),
    });
  });

  it.each([
    ['', 1, 1],
    ['   \n', 2, 1],
    ['{"a": 1,}', 1, 9],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3],
    ['[1, 2', 1, 6],
    ['{"a": "unterminated}', 1, 21],
    ['{"a": tru}', 1, 7],
    ['{"a": 01}', 1, 8],
    ['{"a": 1} x', 1, 10],
    ['{"a": "\\x"}', 1, 9],
    ['{"a": "tab\there"}', 1, 11],
    ["{'a': 1}", 1, 2],
    ['{"a" 1}', 1, 6],
    ['[1,,2]', 1, 4],
    ['{"a": -}', 1, 8],
    ['{"a": 1.}', 1, 9],
    ['{"a": 1e}', 1, 9],
    ['{"a": "\\u12g4"}', 1, 12],
  ])('reports INVALID_JSON for %j at line %i, column %i', async (text, line, column) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    const dir = freshDir();
    const path = join(dir, 'bad.json');
    writeFileSync(path, text);
    const error = (await readJsonFile(path).catch((caught: unknown) => caught)) as StoreError;
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'INVALID_JSON', step: 'parse', line, column });
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(error.message).toContain(`line ${line}, column ${column}`);
  });

  it('reports SCHEMA with the issues and where they are', async () => {
    const dir = freshDir();
    const path = join(dir, 'tasks.json');
    writeFileSync(
      path,
      JSON.stringify({
        tasks: [
          { id: 'P1', status: 'Planned' },
          { id: 'P2', status: 'Done' },
        ],
      }),
    );
    const error = await readJsonFile(path, Backlog).catch((caught) => caught);
    expect(error).toMatchObject({ code: 'SCHEMA', step: 'validate' });
    expect(error.issues.length).toBe(2);
    expect(error.issues.map((issue: { path: unknown[] }) => issue.path)).toEqual(
      expect.arrayContaining([['tasks', 1, 'status'], ['currentItemId']]),
    );
    expect(error.message).toMatch(/tasks\.1\.status|currentItemId/);
  });

  it('accepts any Standard Schema, asynchronous ones included', async () => {
    const dir = freshDir();
    const path = join(dir, 'n.json');
    writeFileSync(path, '5');
    const doubled = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: async (value: unknown) =>
          typeof value === 'number'
            ? { value: value * 2 }
            : { issues: [{ message: 'not a number' }] },
      },
    };
    expect(await readJsonFile(path, doubled)).toBe(10);
    writeFileSync(path, '"five"');
    await expect(readJsonFile(path, doubled)).rejects.toMatchObject({
      code: 'SCHEMA',
      issues: [{ message: 'not a number' }],
    });
  });

  it('rejects a schema that is not one with a TypeError', async () => {
    await expect(readJsonFile('/tmp/x.json', {} as never)).rejects.toThrow(
      /expected a Standard Schema .* got an object/,
    );
  });
});

describe('createJsonFile', () => {
  it('saves canonical 2-space JSON with a final newline and loads it back', async () => {
    const dir = freshDir();
    const file = createJsonFile(join(dir, 'tasks.json'), { schema: Backlog });
    await file.save(sample);
    expect(readFileSync(join(dir, 'tasks.json'), 'utf8')).toBe(
      `${JSON.stringify(sample, null, 2)}\n`,
    );
    expect(await file.load()).toEqual(sample);
    file.saveSync({ ...sample, currentItemId: 'P1.M1.T1.S1' });
    expect(await file.load()).toEqual({ ...sample, currentItemId: 'P1.M1.T1.S1' });
    expect(entries(dir)).toEqual(['tasks.json']);
  });

  it('uses a custom serializer', async () => {
    const dir = freshDir();
    const file = createJsonFile<number[]>(join(dir, 'n.json'), {
      serialize: (value) => `${JSON.stringify(value)}\n`,
    });
    await file.save([1, 2]);
    expect(readFileSync(join(dir, 'n.json'), 'utf8')).toBe('[1,2]\n');
  });

  it('fails NOT_FOUND for a missing file unless a default value is given', async () => {
    const dir = freshDir();
    await expect(createJsonFile(join(dir, 'none.json')).load()).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const file = createJsonFile(join(dir, 'none.json'), { defaultValue: () => ({ n: 0 }) });
    expect(await file.load()).toEqual({ n: 0 });
    expect(entries(dir)).toEqual([]);
  });

  it('validates on save only when asked, and then writes nothing invalid', async () => {
    const dir = freshDir();
    const path = join(dir, 'tasks.json');
    const strict = createJsonFile(path, { schema: Backlog, validateOnSave: true });
    const bad = { tasks: [{ id: 'P1', status: 'Nope' }], currentItemId: null } as never;
    await expect(strict.save(bad)).rejects.toMatchObject({ code: 'SCHEMA', step: 'validate' });
    expect(() => strict.saveSync(bad)).toThrow(StoreError);
    expect(existsSync(path)).toBe(false);
    await createJsonFile(path, { schema: Backlog }).save(bad);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(bad);
  });

  it('keeps saves in order behind an asynchronous validation', async () => {
    const dir = freshDir();
    const path = join(dir, 'n.json');
    let slow = true;
    const schema = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: async (value: unknown) => {
          if (slow) {
            slow = false;
            await new Promise((resolve) => setTimeout(resolve, 30));
          }
          return { value: value as number };
        },
      },
    };
    const file = createJsonFile<number>(path, { schema, validateOnSave: true });
    await Promise.all([file.save(1), file.save(2), file.save(3)]);
    expect(readFileSync(path, 'utf8')).toBe('3\n');
    expect(() => file.saveSync(4)).toThrow(/validates synchronously/);
  });

  it('runs updates in call order, coalescing their writes', async () => {
    const dir = freshDir();
    const path = join(dir, 'counter.json');
    writeFileSync(path, '{"n": 0}');
    const renames = countRenames();
    const file = createJsonFile<{ n: number }>(path);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => file.update((current) => ({ n: current.n + 1 }))),
    );
    expect(results.map((value) => value.n)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ n: 50 });
    expect(renames.count).toBeLessThan(50);
  });

  it('rejects an update whose function throws and goes on with the next', async () => {
    const dir = freshDir();
    const file = createJsonFile<number>(join(dir, 'n.json'), { defaultValue: () => 0 });
    const failing = file.update(() => {
      throw new Error('boom');
    });
    const next = file.update(async (n) => n + 1);
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe(1);
    await expect(file.update('x' as never)).rejects.toThrow(TypeError);
  });

  it('load waits for saves still queued', async () => {
    const dir = freshDir();
    const file = createJsonFile<number>(join(dir, 'n.json'));
    void file.save(1);
    void file.save(2);
    expect(await file.load()).toBe(2);
    void file.save(3);
    await file.flush();
    expect(readFileSync(join(dir, 'n.json'), 'utf8')).toBe('3\n');
  });

  describe('backup', () => {
    it('keeps the version this store last read or wrote as <name>.bak', async () => {
      const dir = freshDir();
      const path = join(dir, 'tasks.json');
      const file = createJsonFile<number>(path, { backup: true });
      await file.save(1);
      expect(entries(dir)).toEqual(['tasks.json']);
      await file.save(2);
      expect(readFileSync(`${path}.bak`, 'utf8')).toBe('1\n');
      file.saveSync(3);
      expect(readFileSync(`${path}.bak`, 'utf8')).toBe('2\n');
      expect(readFileSync(path, 'utf8')).toBe('3\n');
      expect(entries(dir)).toEqual(['tasks.json', 'tasks.json.bak']);
    });

    it('does not back up a file it has not validated', async () => {
      const dir = freshDir();
      const path = join(dir, 'tasks.json');
      writeFileSync(path, 'not json at all');
      await createJsonFile<number>(path, { backup: true }).save(1);
      expect(entries(dir)).toEqual(['tasks.json']);
    });

    it('copies when the file system has no hard links', async () => {
      const dir = freshDir();
      const path = join(dir, 'tasks.json');
      writeFileSync(path, '1\n');
      patchFs({
        link: async () => {
          throw osError('EPERM', 'link');
        },
      });
      const file = createJsonFile<number>(path, { backup: true });
      await file.load();
      await file.save(2);
      expect(readFileSync(`${path}.bak`, 'utf8')).toBe('1\n');
      expect(readFileSync(path, 'utf8')).toBe('2\n');
    });
  });

  describe('corrupt files', () => {
    it('are left alone and reported unless recovery is asked for', async () => {
      const dir = freshDir();
      const path = join(dir, 'tasks.json');
      writeFileSync(path, '{"tasks": [');
      const file = createJsonFile(path, { backup: true, defaultValue: () => sample });
      await expect(file.load()).rejects.toMatchObject({
        code: 'INVALID_JSON',
        line: 1,
        column: 12,
      });
      expect(entries(dir)).toEqual(['tasks.json']);
      expect(readFileSync(path, 'utf8')).toBe('{"tasks": [');
    });

    it('are moved aside and replaced by the backup when recovery is asked for', async () => {
      const dir = freshDir();
      const path = join(dir, 'tasks.json');
      const events: JsonRecoverEvent[] = [];
      const file = createJsonFile(path, {
        schema: Backlog,
        backup: true,
        recoverCorrupt: true,
        onRecover: (event) => events.push(event),
      });
      await file.save(sample);
      await file.save({ ...sample, currentItemId: 'P1.M1.T1.S1' });
      writeFileSync(path, '{"tasks": [garbage');

      const recovered = await createJsonFile(path, {
        schema: Backlog,
        backup: true,
        recoverCorrupt: true,
        onRecover: (event) => events.push(event),
      }).load();

      expect(recovered).toEqual(sample);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(sample);
      expect(events).toHaveLength(1);
      expect(events[0]!.recoveredFrom).toBe('backup');
      expect(events[0]!.error.code).toBe('INVALID_JSON');
      expect(basename(events[0]!.keptAs)).toMatch(/^tasks\.json\.corrupt-\d{8}T\d{9}Z$/);
      expect(readFileSync(events[0]!.keptAs, 'utf8')).toBe('{"tasks": [garbage');
    });

    it('count a schema failure as corrupt, and fall back to the default value', async () => {
      const dir = freshDir();
      const path = join(dir, 'tasks.json');
      writeFileSync(path, '{"tasks": "wrong"}');
      const events: JsonRecoverEvent[] = [];
      const file = createJsonFile(path, {
        schema: Backlog,
        recoverCorrupt: true,
        defaultValue: () => sample,
        onRecover: (event) => events.push(event),
      });
      expect(await file.load()).toEqual(sample);
      expect(events.map((event) => [event.recoveredFrom, event.error.code])).toEqual([
        ['default', 'SCHEMA'],
      ]);
      expect(entries(dir)).toEqual([basename(events[0]!.keptAs)]);
    });

    it('with nothing to recover from, are still kept aside and the error names where', async () => {
      const dir = freshDir();
      const path = join(dir, 'tasks.json');
      writeFileSync(path, '[1, 2');
      const error = (await createJsonFile(path, { recoverCorrupt: true })
        .load()
        .catch((caught: unknown) => caught)) as StoreError;
      expect(error).toMatchObject({ code: 'INVALID_JSON', line: 1, column: 6 });
      const [aside] = entries(dir);
      expect(aside).toMatch(/^tasks\.json\.corrupt-/);
      expect(error.message).toContain(aside);
    });
  });

  it('rejects misuse with TypeErrors', () => {
    expect(() => createJsonFile('')).toThrow(TypeError);
    expect(() => createJsonFile('/tmp/a.json', { backup: 'yes' as never })).toThrow(
      /expected options.backup as a boolean, got "yes"/,
    );
    expect(() => createJsonFile('/tmp/a.json', { validateOnSave: true })).toThrow(
      /validateOnSave needs options.schema/,
    );
    expect(() => createJsonFile('/tmp/a.json', { durability: 'always' as never })).toThrow(
      TypeError,
    );
  });
});
