import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { loadConfig, type CollectorConfig } from '../config.ts';

/**
 * The PostgreSQL the medium tests use. `npm test` sets LANTERN_TEST_DATABASE_URL; the
 * default is the CI machine's server. If nothing answers there, the tests fail loudly.
 */
export const TEST_POSTGRES_URL =
  process.env.LANTERN_TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/test';

/** A collector configuration for one database kind, with a fresh data folder to remove afterwards. */
export interface TestCollectorConfig {
  readonly config: CollectorConfig;
  cleanup(): Promise<void>;
}

/** Every database the collector must work on: tests run once per entry. */
export const DATABASE_KINDS = ['pglite', 'postgres'] as const;

/**
 * A new, empty PostgreSQL database for one test file, dropped by `drop()`. Made through the
 * test server's `test` database; fails loudly if that server does not answer.
 */
export async function createFreshPostgresDatabase(): Promise<{
  url: string;
  drop(): Promise<void>;
}> {
  const name = `lantern_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `The collector's PostgreSQL tests need the server at ${TEST_POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')} (LANTERN_TEST_DATABASE_URL): ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const cleaner = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await cleaner.connect();
      try {
        await cleaner.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleaner.end();
      }
    },
  };
}

export async function makeTestConfig(
  kind: (typeof DATABASE_KINDS)[number],
): Promise<TestCollectorConfig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lantern-collector-'));
  const postgres = kind === 'postgres' ? await createFreshPostgresDatabase() : undefined;
  const config = loadConfig({
    LANTERN_HOST: '127.0.0.1',
    LANTERN_PORT: '0',
    LANTERN_DATA_DIR: dataDir,
    LANTERN_LOG_LEVEL: 'silent',
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
  });
  return {
    config,
    cleanup: async () => {
      await postgres?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
