import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import {
  acquireLock,
  createJsonFile,
  type JsonFile,
  type Lock,
  readJsonFile,
  type StandardSchemaV1,
  type StoreError,
  type StoreErrorCode,
} from './index.ts';

test('a zod 4 schema is a Standard Schema and gives the file its type', () => {
  const Config = z.object({ retries: z.number(), name: z.string().default('x') });
  expectTypeOf(Config).toExtend<StandardSchemaV1>();
  expectTypeOf(createJsonFile('c.json', { schema: Config })).toEqualTypeOf<
    JsonFile<{ retries: number; name: string }>
  >();
  expectTypeOf(readJsonFile('c.json', Config)).resolves.toEqualTypeOf<{
    retries: number;
    name: string;
  }>();
  expectTypeOf(readJsonFile('c.json')).resolves.toBeUnknown();
  expectTypeOf(readJsonFile<number[]>('c.json')).resolves.toEqualTypeOf<number[]>();
});

test('update takes a function of the current value, sync or async', () => {
  const file = createJsonFile<{ n: number }>('n.json');
  expectTypeOf(file.update((current) => ({ n: current.n + 1 }))).resolves.toEqualTypeOf<{
    n: number;
  }>();
  expectTypeOf(file.update).toBeCallableWith(async (current: { n: number }) => current);
});

test('errors carry a closed code', () => {
  expectTypeOf<StoreError['code']>().toEqualTypeOf<StoreErrorCode>();
  expectTypeOf<'LOCKED'>().toExtend<StoreErrorCode>();
  expectTypeOf<'ENOSPC'>().not.toExtend<StoreErrorCode>();
  expectTypeOf(acquireLock('x.lock')).resolves.toEqualTypeOf<Lock>();
});
