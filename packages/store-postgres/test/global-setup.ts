import type { TestProject } from 'vitest/node';
import { type Cluster, startCluster } from './cluster.mjs';

declare module 'vitest' {
  interface ProvidedContext {
    /** Where the throwaway cluster listens, or `null` when none could start (local runs only). */
    postgres: { host: string; port: number; user: string } | null;
  }
}

let cluster: Cluster | undefined;

/**
 * One throwaway cluster for the whole test run; every test file makes its own database in it. In
 * CI (`CI=true`) a server that cannot start fails the run; elsewhere the tests are skipped, loudly.
 */
export async function setup(project: TestProject): Promise<void> {
  try {
    cluster = await startCluster();
  } catch (error) {
    if (process.env.CI === 'true') {
      throw new Error('store-postgres: CI=true and no PostgreSQL server could start', {
        cause: error,
      });
    }
    const reason = error instanceof Error ? error.message : String(error);
    console.warn(
      [
        '',
        '!'.repeat(100),
        '!! store-postgres: EVERY PostgreSQL TEST IS SKIPPED: no throwaway server could start.',
        `!! ${reason.split('\n').join('\n!! ')}`,
        '!! Install PostgreSQL (apt-get install postgresql) to run them; in CI this fails the run.',
        '!'.repeat(100),
        '',
      ].join('\n'),
    );
    project.provide('postgres', null);
    return;
  }
  project.provide('postgres', { host: cluster.host, port: cluster.port, user: cluster.user });
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
