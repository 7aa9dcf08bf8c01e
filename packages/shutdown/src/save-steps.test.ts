import { describe, expect, it } from 'vitest';
import { FakeProcess } from '../test/support/fake-process.ts';
import { createShutdown, onShutdownSave, settleWork } from './index.ts';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup() {
  const proc = new FakeProcess();
  const shutdown = createShutdown({ process: proc, logger: {} });
  return { proc, shutdown };
}

describe('onShutdownSave', () => {
  it('runs stop, flush, save, summary and release in that order, whatever the key order', async () => {
    const { proc, shutdown } = setup();
    const ran: string[] = [];
    const stopped = deferred();
    onShutdownSave(shutdown, {
      release: () => ran.push('release'),
      summary: () => ran.push('summary'),
      save: () => ran.push('save'),
      flush: () => ran.push('flush'),
      stop: {
        run: async () => {
          await stopped.promise;
          ran.push('stop');
        },
        name: 'stop the workers',
        timeoutMs: 5000,
      },
    });
    proc.emit('SIGTERM', 'SIGTERM');
    // The flush waits for the work to stop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual([]);
    stopped.resolve();
    const result = await shutdown.done;
    expect(ran).toEqual(['stop', 'flush', 'save', 'summary', 'release']);
    expect(result.hooks.map((hook) => [hook.name, hook.status])).toEqual([
      ['stop the workers', 'ok'],
      ['flush pending updates', 'ok'],
      ['save backlog', 'ok'],
      ['print the progress summary', 'ok'],
      ['release', 'ok'],
    ]);
    expect(proc.exits).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(proc.exits).toEqual([143]);
  });

  it('skips steps left out, and unregisters every step it added', async () => {
    const { proc, shutdown } = setup();
    const ran: string[] = [];
    const remove = onShutdownSave(shutdown, {
      save: { run: () => ran.push('save'), name: 'save the state' },
      release: () => ran.push('release'),
      force: () => ran.push('force'),
    });
    shutdown.onShutdown(() => ran.push('own hook'), { name: 'own hook' });
    remove();
    proc.emit('SIGINT', 'SIGINT');
    const result = await shutdown.done;
    expect(ran).toEqual(['own hook']);
    expect(result.hooks.map((hook) => hook.name)).toEqual(['own hook']);

    const again = setup();
    onShutdownSave(again.shutdown, {
      save: { run: () => ran.push('save'), name: 'save the state' },
    });
    again.proc.emit('SIGINT', 'SIGINT');
    expect((await again.shutdown.done).hooks.map((hook) => hook.name)).toEqual(['save the state']);
  });
  it('runs the force step when a second signal cuts the steps off', async () => {
    const proc = new FakeProcess();
    const shutdown = createShutdown({ process: proc, logger: {}, forwardedSignalWindowMs: 0 });
    const ran: string[] = [];
    onShutdownSave(shutdown, {
      stop: () => new Promise(() => {}),
      flush: () => ran.push('flush'),
      force: (_reason, cause) => ran.push(`force on ${cause}`),
    });
    proc.emit('SIGINT', 'SIGINT');
    proc.emit('SIGINT', 'SIGINT');
    const result = await shutdown.done;
    expect(ran).toEqual(['force on signal']);
    expect(result.forced).toBe(true);
  });
});

describe('settleWork', () => {
  it('gives the value of work that ended by itself', async () => {
    const { shutdown } = setup();
    expect(await settleWork(shutdown, Promise.resolve(42))).toEqual({ done: true, value: 42 });
    shutdown.dispose();
  });

  it('rejects with the error of work that failed while no shutdown runs', async () => {
    const { shutdown } = setup();
    await expect(settleWork(shutdown, Promise.reject(new Error('broken')))).rejects.toThrow(
      'broken',
    );
    shutdown.dispose();
  });

  it('waits for the hooks of a shutdown that began meanwhile and gives its exit code', async () => {
    const { proc, shutdown } = setup();
    const work = deferred<string>();
    const order: string[] = [];
    shutdown.onShutdown(async () => {
      order.push('hook');
      work.resolve('stopped early');
      await new Promise((resolve) => setImmediate(resolve));
      order.push('hook done');
    });
    const settled = settleWork(shutdown, work.promise).then((outcome) => {
      order.push('settled');
      return outcome;
    });
    proc.emit('SIGINT', 'SIGINT');
    expect(await settled).toEqual({ done: false, exitCode: 130 });
    expect(order).toEqual(['hook', 'hook done', 'settled']);
  });

  it('gives the exit code, not the error, of work that fails during a shutdown', async () => {
    const { proc, shutdown } = setup();
    const work = deferred<string>();
    shutdown.onShutdown(() => work.reject(new Error('aborted')));
    const settled = settleWork(shutdown, work.promise);
    proc.emit('SIGHUP', 'SIGHUP');
    expect(await settled).toEqual({ done: false, exitCode: 129 });
  });
});
