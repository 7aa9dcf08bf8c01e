import { createRequire } from 'node:module';
import type pg from 'pg';

let loaded: typeof pg | undefined;

/**
 * The `pg` driver, loaded the first time a store needs a connection. A program that imports this
 * package but never connects (the savepoint CLI on a plan folder, with no --store) does not pay
 * for loading it: about 60-90 ms at start and 2 MB of memory.
 */
export function loadPg(): typeof pg {
  loaded ??= createRequire(import.meta.url)('pg') as typeof pg;
  return loaded;
}
