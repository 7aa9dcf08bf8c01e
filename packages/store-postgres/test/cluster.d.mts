/** A running throwaway cluster (see cluster.mjs). */
export interface Cluster {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly dataDir: string;
  readonly pid: number | undefined;
  /** A connection string for a database of this cluster (default `postgres`). */
  url(database?: string): string;
  /** Fast shutdown (SIGINT), waits for the server's exit, removes the folder. Idempotent. */
  stop(): Promise<void>;
}

/** A database created for one test file. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export function findPostgresBin(): string | null;

export function startCluster(options?: {
  log?: (line: string) => void;
  settings?: Record<string, string | number>;
}): Promise<Cluster>;

export function createDatabase(
  server: { url(database?: string): string },
  prefix?: string,
): Promise<TestDatabase>;
