/**
 * The contract suite of `SessionStore`: one set of tests that every store runs (the file store,
 * the memory store, the PostgreSQL store, a third party's). It registers its tests with the test
 * runner functions it is given, so it works with vitest, jest or any runner with the same
 * `describe` / `it` / `expect` shape, and the package needs no test runner at run time.
 *
 * @example
 * ```ts
 * // my-store.contract.test.ts
 * import { describe, expect, it } from 'vitest';
 * import { describeStoreContract } from '@savepoint/session/contract';
 * import { createMyStore } from './my-store.ts';
 *
 * describeStoreContract('my store', async () => {
 *   const store = await createMyStore(await freshDatabase());
 *   return { store, cleanup: () => store.dispose() };
 * }, { describe, it, expect });
 * ```
 *
 * @module
 */
import type { SessionDraft, SessionHandle, SessionStore } from './store.ts';

/** A fresh, empty store for one test, and how to dispose of it. */
export interface ContractStore {
  /** The store under test; empty. */
  readonly store: SessionStore;
  /** Called after the test, whatever its outcome. */
  readonly cleanup?: () => void | Promise<void>;
}

/** Makes a fresh, empty store for each test. */
export type ContractStoreFactory = () => ContractStore | Promise<ContractStore>;

/**
 * The test runner functions the suite registers with: vitest's or jest's `describe`, `it` and
 * `expect`. The suite uses only `toBe`, `toEqual`, `toMatchObject`, `toHaveLength`, `toBeNull`,
 * `toThrow` and `rejects`.
 */
export interface ContractHarness {
  /** Groups tests. */
  describe(name: string, body: () => void): void;
  /** Registers one test; the suite passes a timeout in milliseconds as the third argument. */
  it(name: string, body: () => Promise<void>, timeout?: number): void;
  /** The runner's `expect`. */
  expect: (actual: never, message?: never) => unknown;
}

/** Options of {@link describeStoreContract}. */
export interface ContractOptions {
  /**
   * Timeout of each test in milliseconds.
   *
   * @default 30000
   */
  timeoutMs?: number;
}

interface Matchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toMatchObject(expected: object): void;
  toHaveLength(length: number): void;
  toBeNull(): void;
  toThrow(expected?: unknown): void;
  not: Matchers;
  rejects: {
    toMatchObject(expected: object): Promise<void>;
    toThrow(expected?: unknown): Promise<void>;
  };
}

const TASKS = '{\n  "backlog": []\n}\n';

function draft(hash: string, extra: Partial<SessionDraft> = {}): SessionDraft {
  return { hash, prdSnapshot: `# PRD ${hash}\n`, tasksText: TASKS, parentSession: null, ...extra };
}

/**
 * Registers the store contract's tests under `describe(name)`.
 *
 * @param name - what the tests are grouped as, e.g. `'file store'`
 * @param factory - makes a fresh, empty store for each test
 * @param harness - the runner's `describe`, `it` and `expect`
 * @throws TypeError when the arguments are malformed
 */
export function describeStoreContract(
  name: string,
  factory: ContractStoreFactory,
  harness: ContractHarness,
  options: ContractOptions = {},
): void {
  if (typeof name !== 'string') {
    throw new TypeError(`describeStoreContract expected a name, got ${typeof name}`);
  }
  if (typeof factory !== 'function') {
    throw new TypeError(`describeStoreContract expected a store factory, got ${typeof factory}`);
  }
  if (
    typeof harness !== 'object' ||
    harness === null ||
    typeof harness.describe !== 'function' ||
    typeof harness.it !== 'function' ||
    typeof harness.expect !== 'function'
  ) {
    throw new TypeError('describeStoreContract expected { describe, it, expect } of a test runner');
  }
  const expect = harness.expect as unknown as (actual: unknown) => Matchers;
  const timeout = options.timeoutMs ?? 30_000;

  /** Runs a test body with a fresh store, releasing handles and disposing of the store. */
  const test = (
    title: string,
    body: (store: SessionStore, held: SessionHandle[]) => Promise<void>,
  ) =>
    harness.it(
      title,
      async () => {
        const { store, cleanup } = await factory();
        const held: SessionHandle[] = [];
        try {
          await body(store, held);
        } finally {
          for (const handle of held) await handle.release().catch(() => undefined);
          await cleanup?.();
        }
      },
      timeout,
    );

  async function created(store: SessionStore, held: SessionHandle[], hash: string) {
    const result = await store.create(draft(hash));
    if (result.status !== 'created') throw new Error(`expected ${hash} to be created`);
    held.push(result.handle);
    return result;
  }

  harness.describe(`SessionStore contract: ${name}`, () => {
    test('an empty store lists nothing', async (store) => {
      expect(await store.list()).toEqual({ sessions: [], incomplete: [] });
      expect(typeof store.location).toBe('string');
    });

    test('creates sessions numbered from 1, open and loadable', async (store, held) => {
      const first = await created(store, held, 'aaaaaaaaaaaa');
      expect(first.session).toMatchObject({
        id: '001_aaaaaaaaaaaa',
        sequence: 1,
        hash: 'aaaaaaaaaaaa',
      });
      expect(first.handle.summary.id).toBe('001_aaaaaaaaaaaa');
      expect(first.handle.signal.aborted).toBe(false);
      const loaded = await first.handle.load();
      expect(loaded).toMatchObject({
        snapshotText: TASKS,
        snapshotSequence: 0,
        changes: [],
        parentSession: null,
        prdSnapshot: '# PRD aaaaaaaaaaaa\n',
      });
      const second = await store.create(
        draft('bbbbbbbbbbbb', {
          parentSession: '001_aaaaaaaaaaaa',
          prdSnapshot: new Uint8Array([0x23, 0x41]),
        }),
      );
      expect(second).toMatchObject({ status: 'created', session: { sequence: 2 } });
      if (second.status === 'created') {
        held.push(second.handle);
        expect(await second.handle.load()).toMatchObject({
          parentSession: '001_aaaaaaaaaaaa',
          prdSnapshot: '#A',
        });
      }
      const listing = await store.list();
      expect(listing.sessions.map((session) => session.id)).toEqual([
        '001_aaaaaaaaaaaa',
        '002_bbbbbbbbbbbb',
      ]);
      expect(listing.incomplete).toEqual([]);
    });

    test('reports exists, writing nothing, when the hash already has a session', async (store, held) => {
      await created(store, held, 'aaaaaaaaaaaa');
      const again = await store.create(draft('aaaaaaaaaaaa'));
      expect(again).toMatchObject({ status: 'exists', session: { id: '001_aaaaaaaaaaaa' } });
      expect((await store.list()).sessions).toHaveLength(1);
    });

    test('gives concurrent creators distinct sequence numbers, one session per hash', async (store, held) => {
      const hashes = [
        '111111111111',
        '222222222222',
        '333333333333',
        '444444444444',
        '111111111111',
      ];
      const results = await Promise.all(hashes.map((hash) => store.create(draft(hash))));
      for (const result of results) if (result.status === 'created') held.push(result.handle);
      const createdOnes = results.filter((result) => result.status === 'created');
      expect(createdOnes).toHaveLength(4);
      const sequences = createdOnes.map((result) => result.session.sequence).sort((a, b) => a - b);
      expect(sequences).toEqual([1, 2, 3, 4]);
      expect(results.filter((result) => result.status === 'exists')).toHaveLength(1);
    });

    test('lets one holder at a time open a session', async (store, held) => {
      const first = await created(store, held, 'aaaaaaaaaaaa');
      await expect(store.open(first.session.id)).rejects.toMatchObject({ code: 'LOCKED' });
      await first.handle.release();
      await first.handle.release();
      const again = await store.open(first.session.path);
      held.push(again);
      expect(again.summary.id).toBe(first.session.id);
      await expect(store.open('009_0123456789ab')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      again.releaseSync();
      again.releaseSync();
      const third = await store.open(first.session.id);
      held.push(third);
    });

    test('appends batches in sequence and loads them back in order', async (store, held) => {
      const first = await created(store, held, 'aaaaaaaaaaaa');
      await first.handle.load();
      await first.handle.append({ sequence: 1, statuses: [{ id: 'P1', status: 'Implementing' }] });
      first.handle.appendSync({ sequence: 2, statuses: [], currentItemId: 'P1' });
      await first.handle.append({
        sequence: 3,
        statuses: [
          { id: 'P1.M1', status: 'Complete' },
          { id: 'P1', status: 'Complete' },
        ],
        currentItemId: null,
      });
      await expect(first.handle.append({ sequence: 5, statuses: [] })).rejects.toThrow(TypeError);
      await expect(
        first.handle.append({ sequence: 4, statuses: [{ id: 'P1', status: 'Nope' as never }] }),
      ).rejects.toThrow(TypeError);
      for (const bad of [null, 'P1', { id: 7, status: 'Complete' }, { id: 'P1' }]) {
        await expect(
          first.handle.append({
            sequence: 4,
            statuses: [{ id: 'P1.M1', status: 'Planned' }, bad as never],
          }),
        ).rejects.toThrow(TypeError);
      }
      const expected = {
        snapshotText: TASKS,
        snapshotSequence: 0,
        changes: [
          { sequence: 1, statuses: [{ id: 'P1', status: 'Implementing' }] },
          { sequence: 2, statuses: [], currentItemId: 'P1' },
          {
            sequence: 3,
            statuses: [
              { id: 'P1.M1', status: 'Complete' },
              { id: 'P1', status: 'Complete' },
            ],
            currentItemId: null,
          },
        ],
      };
      // A reader sees them while the session is held; the next holder loads them.
      expect(await store.read(first.session.id)).toMatchObject(expected);
      await first.handle.release();
      const again = await store.open(first.session.id);
      held.push(again);
      const loaded = await again.load();
      expect(loaded).toMatchObject(expected);
      expect(loaded.changes).toHaveLength(3);
      expect(loaded.tail.discardedBytes).toBe(0);
      await again.append({ sequence: 4, statuses: [{ id: 'P2', status: 'Failed' }] });
      expect((await store.read(first.session.path)).changes).toHaveLength(4);
    });

    test('compacts: the new snapshot holds every batch, and batches continue after it', async (store, held) => {
      const first = await created(store, held, 'aaaaaaaaaaaa');
      await first.handle.load();
      await first.handle.append({ sequence: 1, statuses: [{ id: 'P1', status: 'Complete' }] });
      await first.handle.append({ sequence: 2, statuses: [{ id: 'P2', status: 'Complete' }] });
      await expect(first.handle.compact({ text: 'x', sequence: 1 })).rejects.toThrow(TypeError);
      const text = '{\n  "backlog": [],\n  "currentItemId": null\n}\n';
      await first.handle.compact({ text, sequence: 2 });
      expect(await store.read(first.session.id)).toMatchObject({
        snapshotText: text,
        snapshotSequence: 2,
        changes: [],
      });
      await first.handle.append({ sequence: 3, statuses: [{ id: 'P3', status: 'Failed' }] });
      const syncText = '{\n  "backlog": []\n}\n';
      first.handle.compactSync({ text: syncText, sequence: 3 });
      first.handle.appendSync({ sequence: 4, statuses: [{ id: 'P4', status: 'Obsolete' }] });
      await first.handle.release();
      const again = await store.open(first.session.id);
      held.push(again);
      expect(await again.load()).toMatchObject({
        snapshotText: syncText,
        snapshotSequence: 3,
        changes: [{ sequence: 4, statuses: [{ id: 'P4', status: 'Obsolete' }] }],
      });
    });

    test('writes and removes artifacts, refusing names that are not plain', async (store, held) => {
      const first = await created(store, held, 'aaaaaaaaaaaa');
      const where = await first.handle.writeArtifact('ERROR_REPORT.md', '# failed\n');
      expect(typeof where).toBe('string');
      await first.handle.writeArtifact('ERROR_REPORT.md', '# failed again\n');
      await first.handle.removeArtifact('ERROR_REPORT.md');
      await first.handle.removeArtifact('ERROR_REPORT.md');
      for (const bad of ['../x.md', 'a/b', '.hidden', 'tasks.json', 'tasks.journal', '']) {
        await expect(first.handle.writeArtifact(bad, 'x')).rejects.toThrow(TypeError);
      }
    });

    test('refuses malformed arguments with TypeError', async (store) => {
      await expect(store.create({ ...draft('aaaaaaaaaaaa'), hash: 'nothex' })).rejects.toThrow(
        TypeError,
      );
      await expect(store.open('' as never)).rejects.toThrow(TypeError);
      expect((await store.list()).sessions).toHaveLength(0);
    });
  });
}
