// Gives each test file its own fresh PostgreSQL database: on the server named by TESSERA_TEST_POSTGRES_URL, else a throwaway cluster.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';
import { TesseraError } from '../../src/errors.ts';

export const POSTGRES_URL_VARIABLE = 'TESSERA_TEST_POSTGRES_URL';

export interface TestPostgresDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

interface ServerResolution {
  /** URL of a database on the server where we may CREATE/DROP DATABASE; undefined when no server can be had. */
  adminUrl?: string;
  /** Why there is no server, said once, loudly. */
  unavailableReason?: string;
}

let resolution: Promise<ServerResolution> | undefined;

function underCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/**
 * For a vitest globalSetup: when TESSERA_TEST_POSTGRES_URL is unset, starts one throwaway cluster for the whole run
 * and exports its URL to the test workers (instead of one cluster per test file). Does nothing when it is set.
 */
export async function provideSharedPostgres(): Promise<void> {
  const configured = process.env[POSTGRES_URL_VARIABLE];
  if (configured !== undefined && configured !== '') return;
  const server = await resolveServer();
  if (server.adminUrl !== undefined) process.env[POSTGRES_URL_VARIABLE] = server.adminUrl;
}

/** True when a PostgreSQL server is reachable (configured, or a throwaway cluster could be started). */
export async function postgresAvailable(): Promise<boolean> {
  return (await resolveServer()).adminUrl !== undefined;
}

/**
 * Creates a uniquely named database. Throws when no server can be had; tests should go through
 * `describeWithPostgres` (or check `postgresAvailable()`) so that they skip loudly instead — except under CI.
 */
export async function createTestPostgresDatabase(): Promise<TestPostgresDatabase> {
  const server = await resolveServer();
  if (server.adminUrl === undefined) {
    throw new PostgresUnavailableError(server.unavailableReason ?? 'no PostgreSQL server');
  }
  const adminUrl = server.adminUrl;
  const name = `tessera_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdminClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/**
 * `describe` for suites that need PostgreSQL: skipped with a loud message when no server can be had,
 * a failing suite instead under CI=true, where the PostgreSQL half must always run.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  describe(name, async () => {
    const server = await resolveServer();
    if (server.adminUrl !== undefined) {
      body();
      return;
    }
    const reason = server.unavailableReason ?? 'no PostgreSQL server';
    if (underCi()) {
      it('has a PostgreSQL server (required under CI)', () => {
        throw new PostgresUnavailableError(`PostgreSQL is required under CI but ${reason}`);
      });
      return;
    }
    console.warn(`\n*** SKIPPING PostgreSQL tests "${name}": ${reason} ***\n`);
    it.skip(`PostgreSQL unavailable: ${reason}`, () => undefined);
  });
}

export class PostgresUnavailableError extends TesseraError {
  readonly code = 'ERR_TEST_POSTGRES_UNAVAILABLE';
}

async function withAdminClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A shared server keeps what crashed test processes left behind: drop their databases (names carry the pid). */
async function dropDatabasesOfDeadProcesses(adminUrl: string): Promise<void> {
  try {
    await withAdminClient(adminUrl, async (client) => {
      const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'tessera\\_test\\_%'");
      for (const { datname } of rows) {
        const pid = Number(/^tessera_test_(\d+)_[0-9a-f]+$/.exec(datname)?.[1] ?? Number.NaN);
        if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
          await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
        }
      }
    });
  } catch {
    // Housekeeping only: a failure here must not fail the tests.
  }
}

function resolveServer(): Promise<ServerResolution> {
  resolution ??= (async (): Promise<ServerResolution> => {
    const configured = process.env[POSTGRES_URL_VARIABLE];
    if (configured !== undefined && configured !== '') {
      try {
        await withAdminClient(configured, (client) => client.query('SELECT 1'));
        await dropDatabasesOfDeadProcesses(configured);
        return { adminUrl: configured };
      } catch (error) {
        return { unavailableReason: `${POSTGRES_URL_VARIABLE} is set but the server does not answer (${(error as Error).message})` };
      }
    }
    try {
      return await startThrowawayCluster();
    } catch (error) {
      return { unavailableReason: `${POSTGRES_URL_VARIABLE} is unset and no throwaway cluster could start (${(error as Error).message})` };
    }
  })();
  return resolution;
}

function findPostgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts initdb + pg_ctl in a temp dir on a free loopback port; stopped when this process exits (or dies). */
async function startThrowawayCluster(): Promise<ServerResolution> {
  const bin = findPostgresBinaries();
  if (bin === undefined) return { unavailableReason: `${POSTGRES_URL_VARIABLE} is unset and no PostgreSQL binaries under /usr/lib/postgresql/*/bin` };

  // PostgreSQL refuses to run as root: run it as the `postgres` account, which must own the directory.
  const asRoot = process.getuid?.() === 0;
  let runAs: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pg-'));
  if (asRoot) {
    const lookup = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gidLookup = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (lookup.status !== 0 || gidLookup.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      return { unavailableReason: 'running as root and there is no `postgres` user to run a throwaway cluster as' };
    }
    chownSync(dir, Number(lookup.stdout.trim()), Number(gidLookup.stdout.trim()));
    chmodSync(dir, 0o700);
    runAs = ['runuser', '-u', 'postgres', '--'];
  }
  const run = (command: string, args: string[]): void => {
    const argv = [...runAs, join(bin, command), ...args];
    const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) {
      throw new PostgresUnavailableError(`${command} failed: ${(result.stderr || result.stdout || String(result.error)).trim().split('\n').slice(-3).join(' ')}`);
    }
  };

  const data = join(dir, 'data');
  const port = await freeLoopbackPort();
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories='${dir}' -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const stop = (): void => {
    const argv = [...runAs, join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'];
    spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  // A watchdog outlives a killed test process long enough to stop the cluster it left behind.
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${[...runAs, join(bin, 'pg_ctl')].join(' ')} -D '${data}' -m immediate stop >/dev/null 2>&1; rm -rf '${dir}'`],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres` };
}
