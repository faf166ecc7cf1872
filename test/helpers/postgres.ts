import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';

const run = promisify(execFile);

/**
 * The shared PostgreSQL server every test may use (`npm test` sets the variable). Tests
 * make their own databases on it and never stop or reconfigure the server.
 */
export const SHARED_POSTGRES_URL =
  process.env.LANTERN_TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/test';

/** Run one query on a short-lived connection (no pool to leak between tests). */
export async function queryRows<Row extends Record<string, unknown>>(
  url: string,
  text: string,
  values: readonly unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(text, [...values])).rows;
  } finally {
    await client.end();
  }
}

/** A new, empty database on `serverUrl`'s server; `drop()` removes it, closing its connections. */
export async function createDatabase(
  serverUrl: string = SHARED_POSTGRES_URL,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `lantern_e2e_${randomBytes(6).toString('hex')}`;
  try {
    await queryRows(serverUrl, `CREATE DATABASE ${name}`);
  } catch (error) {
    throw new Error(
      `The fault tests need PostgreSQL at ${serverUrl.replace(/:[^:@/]*@/, ':***@')} (LANTERN_TEST_DATABASE_URL): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await queryRows(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A TCP port nothing listens on at this moment. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || !address) throw new Error('no port from the OS');
  return address.port;
}

/** Debian's PostgreSQL programs (newest major version), or LANTERN_PG_BIN. */
function postgresBinDir(): string {
  const given = process.env.LANTERN_PG_BIN;
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(join(root, version, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      `No PostgreSQL server programs under ${root}: install Debian's (apt-get install postgresql), or set LANTERN_PG_BIN to the folder holding initdb and pg_ctl.`,
    );
  }
  return join(root, newest, 'bin');
}

/**
 * A PostgreSQL cluster of its own for one test, in a temporary folder, so a test may stop
 * and start it without touching the shared server. Trust authentication on 127.0.0.1 and
 * a Unix socket in the folder. As root, the server programs run as the `postgres` user
 * (PostgreSQL refuses to run as root). Call `destroy()` when done.
 */
export class PrivatePostgres {
  readonly port: number;
  private readonly dir: string;
  private readonly bin: string;

  private constructor(dir: string, bin: string, port: number) {
    this.dir = dir;
    this.bin = bin;
    this.port = port;
  }

  /** initdb a new cluster on a free port and start it. */
  static async create(): Promise<PrivatePostgres> {
    const bin = postgresBinDir();
    const dir = await mkdtemp(join(tmpdir(), 'lantern-pg-'));
    const cluster = new PrivatePostgres(dir, bin, await freePort());
    try {
      if (process.getuid?.() === 0) await run('chown', ['postgres:', dir]);
      await cluster.pg('initdb', [
        '--pgdata',
        cluster.dataDir,
        '--username',
        'postgres',
        '--auth',
        'trust',
        '--encoding',
        'UTF8',
        '--locale',
        'C',
        '--no-sync',
        '--no-instructions',
      ]);
      // Appended, so these win over initdb's defaults; the file stays the postgres user's.
      await appendFile(
        join(cluster.dataDir, 'postgresql.conf'),
        [
          '',
          `port = ${cluster.port}`,
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = '${dir}'`,
          'max_connections = 40',
          'shared_buffers = 16MB',
          '',
        ].join('\n'),
      );
      await cluster.start();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private get logFile(): string {
    return join(this.dir, 'postgres.log');
  }

  /** A URL for `database` on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Start the server on its port and wait until it accepts connections. */
  async start(): Promise<void> {
    await this.pg('pg_ctl', [
      '--pgdata',
      this.dataDir,
      '--log',
      this.logFile,
      '--wait',
      '--timeout',
      '30',
      'start',
    ]);
  }

  /** Stop the server with `-m fast`: clients are disconnected, nothing committed is lost. */
  async stop(): Promise<void> {
    await this.pg('pg_ctl', [
      '--pgdata',
      this.dataDir,
      '--mode',
      'fast',
      '--wait',
      '--timeout',
      '30',
      'stop',
    ]);
  }

  /** Stop the server if it runs and remove its folder. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      await this.pg('pg_ctl', [
        '--pgdata',
        this.dataDir,
        '--mode',
        'immediate',
        '--wait',
        'stop',
      ]).catch((error: unknown) => console.error('could not stop the private PostgreSQL', error));
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Run one of the server programs, as `postgres` when we are root; failures carry the server log. */
  private async pg(program: string, args: readonly string[]): Promise<void> {
    const path = join(this.bin, program);
    const [command, commandArgs] =
      process.getuid?.() === 0
        ? ['runuser', ['-u', 'postgres', '--', path, ...args]]
        : [path, [...args]];
    try {
      // cwd: the postgres user may not be allowed into the test's working directory.
      await run(command, commandArgs, { cwd: this.dir, timeout: 60_000 });
    } catch (error) {
      const log = await readFile(this.logFile, 'utf8').catch(() => '(no server log)');
      throw new Error(
        `${program} ${args.join(' ')} failed: ${(error as Error).message}\nserver log:\n${log.slice(-4_000)}`,
        { cause: error },
      );
    }
  }
}
