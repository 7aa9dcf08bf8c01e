import { expectTypeOf } from 'vitest';
import {
  createShutdown,
  type HookContext,
  type ProcessLike,
  type Shutdown,
  type ShutdownReason,
  type ShutdownResult,
} from './index.ts';

// The real process must fit the injectable shape, or the default would not type-check for users.
expectTypeOf(process).toExtend<ProcessLike>();

const shutdown = createShutdown();
expectTypeOf(shutdown).toEqualTypeOf<Shutdown>();
expectTypeOf(shutdown.signal).toEqualTypeOf<AbortSignal>();
expectTypeOf(shutdown.done).toEqualTypeOf<Promise<ShutdownResult>>();
expectTypeOf(shutdown.trigger).returns.toEqualTypeOf<Promise<ShutdownResult>>();
expectTypeOf(shutdown.exitCode).returns.toEqualTypeOf<number | undefined>();
expectTypeOf(shutdown.onShutdown).returns.toEqualTypeOf<() => void>();

// Hooks may be sync or async and receive a typed context.
shutdown.onShutdown(async (ctx) => {
  expectTypeOf(ctx).toEqualTypeOf<HookContext>();
  await Promise.resolve();
});
shutdown.onShutdown(() => 42, { name: 'sync', timeoutMs: 100 });

// The reason narrows on `kind`.
declare const reason: ShutdownReason;
if (reason.kind === 'signal') expectTypeOf(reason.signal).toEqualTypeOf<NodeJS.Signals>();
if (reason.kind === 'trigger')
  expectTypeOf(reason.reason).toEqualTypeOf<string | Error | undefined>();
if (reason.kind === 'error') expectTypeOf(reason.code).toEqualTypeOf<1>();

// @ts-expect-error signals are checked against Node's signal names
createShutdown({ signals: ['SIGFOO'] });
// @ts-expect-error force hooks are synchronous and receive the reason, not a context
shutdown.onForce((ctx: HookContext) => ctx.signal);
