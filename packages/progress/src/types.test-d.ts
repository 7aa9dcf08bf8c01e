import { expectTypeOf } from 'vitest';
import type { Progress, ProgressSource, RenderStream } from './index.ts';
import { createRenderer, ProgressTracker } from './index.ts';

// Node's own streams are valid render targets as they are.
expectTypeOf(process.stdout).toExtend<RenderStream>();
expectTypeOf(process.stderr).toExtend<RenderStream>();

const tracker = new ProgressTracker({ total: 3 });
expectTypeOf(tracker).toExtend<ProgressSource>();
expectTypeOf(tracker.getProgress()).toEqualTypeOf<Progress>();

// Listeners get the payload of their event.
tracker.on('complete', (event) => {
  expectTypeOf(event.id).toBeString();
  expectTypeOf(event.progress.etaMs).toEqualTypeOf<number | null>();
});
tracker.on('progress', (progress) => {
  expectTypeOf(progress).toEqualTypeOf<Progress>();
});
// @ts-expect-error unknown events are rejected at compile time too
tracker.on('finished', () => {});

expectTypeOf(createRenderer({ stream: process.stderr, tracker }).kind).toEqualTypeOf<
  'terminal' | 'plain' | 'json' | 'none'
>();
