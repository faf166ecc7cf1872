import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export async function makeTestConfig(
  kind: (typeof DATABASE_KINDS)[number],
): Promise<TestCollectorConfig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lantern-collector-'));
  const config = loadConfig({
    LANTERN_HOST: '127.0.0.1',
    LANTERN_PORT: '0',
    LANTERN_DATA_DIR: dataDir,
    LANTERN_LOG_LEVEL: 'silent',
    ...(kind === 'postgres' ? { DATABASE_URL: TEST_POSTGRES_URL } : {}),
  });
  return { config, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
}
