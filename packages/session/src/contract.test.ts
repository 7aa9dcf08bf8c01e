import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../test/helpers.ts';
import { describeStoreContract } from './contract.ts';
import { createFileStore, createMemoryStore } from './index.ts';

describeStoreContract(
  'file store',
  async () => {
    const temp = await makeTempDir();
    return { store: createFileStore(join(temp.dir, 'plan')), cleanup: temp.cleanup };
  },
  { describe, it, expect },
);

describeStoreContract('memory store', () => ({ store: createMemoryStore() }), {
  describe,
  it,
  expect,
});
