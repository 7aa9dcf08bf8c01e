// A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a fresh temp folder, one
// server on a free port of 127.0.0.1 with its socket in that folder, stopped (SIGINT, the fast
// shutdown) and removed afterwards. Plain JavaScript so the benchmarks can use it without a build;
// cluster.d.mts describes it for the TypeScript tests.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const READY = 'database system is ready to accept connections';

/**
 * The folder with `initdb` and `postgres`: `SAVEPOINT_PG_BIN` when set (and only it), else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian's layout), else `pg_config --bindir`; `null` when
 * none has both programs.
 */
export function findPostgresBin() {
  const chosen = process.env.SAVEPOINT_PG_BIN;
  if (chosen) return hasServerPrograms(chosen) ? chosen : null;
  const candidates = [];
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) candidates.push(join(debian, version, 'bin'));
  }
  try {
    candidates.push(
      execFileSync('pg_config', ['--bindir'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim(),
    );
  } catch {
    // No pg_config on PATH: only the places above count.
  }
  return candidates.find(hasServerPrograms) ?? null;
}

function hasServerPrograms(dir) {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
}

/**
 * Starts a throwaway cluster. As root, initdb and postgres run as the `postgres` user (PostgreSQL
 * refuses to run as root); otherwise as the current user.
 *
 * @param {{ log?: (line: string) => void, settings?: Record<string, string | number> }} [options]
 */
export async function startCluster(options = {}) {
  const bin = findPostgresBin();
  if (bin === null) {
    throw new Error(
      'no PostgreSQL server programs found (looked in $SAVEPOINT_PG_BIN, /usr/lib/postgresql/*/bin ' +
        'and pg_config --bindir); install them with `apt-get install postgresql`',
    );
  }
  const owner = process.getuid?.() === 0 ? postgresUser() : null;
  // The postgres user must reach the folder: as root, a TMPDIR under /root would not do.
  const base = owner && existsSync('/tmp') ? '/tmp' : tmpdir();
  const dir = mkdtempSync(join(base, 'savepoint-pg-'));
  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    await runToEnd(
      join(bin, 'initdb'),
      ['-D', dir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'],
      owner,
    );
    // A free port can be taken between choosing and binding it; only then is another one tried.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        const server = await startServer(bin, dir, port, owner, options);
        return server;
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt === 5) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

class PortTakenError extends Error {}

async function startServer(bin, dir, port, owner, options) {
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    max_connections: 300,
    // A throwaway cluster: losing it on a power cut costs nothing, and syncs would only slow
    // every test on a shared disk.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...options.settings,
  };
  const args = ['-D', dir, '-p', String(port)];
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
  const child = spawn(join(bin, 'postgres'), args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  const logTail = [];
  let exited = false;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  // Drained for the server's whole life: a full pipe would block it.
  let buffered = '';
  const ready = new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        logTail.push(line);
        if (logTail.length > 40) logTail.shift();
        options.log?.(line);
        if (line.includes(READY)) resolve();
      }
    });
    exit.then(({ code, signal }) => {
      const log = logTail.join('\n');
      const message = `postgres exited (${signal ?? `code ${code}`}) before accepting connections:\n${log}`;
      reject(
        /could not bind|already in use/i.test(log)
          ? new PortTakenError(message)
          : new Error(message),
      );
    });
  });
  await ready;

  const server = {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    dataDir: dir,
    pid: child.pid,
    /** A connection string for a database of this cluster. */
    url(database = 'postgres') {
      return `postgres://postgres@127.0.0.1:${port}/${database}`;
    },
    /** Fast shutdown (SIGINT), then removes the cluster's folder. Idempotent. */
    async stop() {
      if (!exited) {
        child.kill('SIGINT');
        await exit;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // The log line says the server listens; one query proves a client gets through.
    const client = new pg.Client({ connectionString: server.url() });
    await client.connect();
    await client.query('SELECT 1');
    await client.end();
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** The uid and gid of the `postgres` user, from /etc/passwd. */
function postgresUser() {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) {
    throw new Error(
      'running as root, but there is no `postgres` user to run the server as (the postgresql package creates it)',
    );
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function runToEnd(file, args, owner) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${file} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Creates a database with a unique name in the cluster and returns its connection string and a
 * function that drops it (ending any sessions still connected).
 *
 * @param {{ url: (database?: string) => string }} server
 * @param {string} [prefix]
 */
export async function createDatabase(server, prefix = 'test') {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: server.url(name),
    async drop() {
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
