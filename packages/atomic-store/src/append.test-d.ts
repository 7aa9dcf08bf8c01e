import { expectTypeOf, test } from 'vitest';
import {
  type AppendFile,
  type AppendFileOptions,
  appendFileDurable,
  appendFileDurableSync,
  openAppendFile,
  openAppendFileSync,
  type StoreErrorCode,
  type StoreStep,
} from './index.ts';

test('opening gives a handle, async or sync', () => {
  expectTypeOf(openAppendFile('j.log')).resolves.toEqualTypeOf<AppendFile>();
  expectTypeOf(openAppendFileSync('j.log')).toEqualTypeOf<AppendFile>();
  expectTypeOf(openAppendFile).toBeCallableWith('j.log', {
    mode: 0o600,
    signal: new AbortController().signal,
  });
  expectTypeOf<AppendFileOptions>().toEqualTypeOf<{
    readonly mode?: number;
    readonly signal?: AbortSignal;
  }>();
});

test('a handle appends strings and bytes and exposes read-only facts', () => {
  const file = openAppendFileSync('j.log');
  expectTypeOf(file.append('line\n')).toEqualTypeOf<Promise<void>>();
  expectTypeOf(file.append(new Uint8Array(4))).toEqualTypeOf<Promise<void>>();
  expectTypeOf(file.appendSync).returns.toBeVoid();
  expectTypeOf(file.truncate(0)).toEqualTypeOf<Promise<void>>();
  expectTypeOf(file.truncateSync).returns.toBeVoid();
  expectTypeOf(file.close()).toEqualTypeOf<Promise<void>>();
  expectTypeOf(file.closeSync).returns.toBeVoid();
  expectTypeOf(file.size).toBeNumber();
  expectTypeOf(file.path).toBeString();
  // @ts-expect-error: the size is the handle's to keep.
  file.size = 3;
  // @ts-expect-error: numbers are not data.
  void file.append(42);
});

test('one-shot appends', () => {
  expectTypeOf(appendFileDurable('j.log', 'x')).toEqualTypeOf<Promise<void>>();
  expectTypeOf(appendFileDurableSync('j.log', new Uint8Array())).toBeVoid();
});

test('appends add a code and a step to the closed sets', () => {
  expectTypeOf<'CLOSED'>().toExtend<StoreErrorCode>();
  expectTypeOf<'truncate'>().toExtend<StoreStep>();
});
