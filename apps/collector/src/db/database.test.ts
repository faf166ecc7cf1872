import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../test-helpers/databases.ts';
import { MIGRATIONS_DIR, openDatabase, type Database } from './database.ts';

const TABLES = [
  'audit_log',
  'capture_matches',
  'captures',
  'concern_actions',
  'concerns',
  'devices',
  'enrolment_tokens',
  'exemptions',
  'organisations',
  'policies',
  'screenshots',
  'site_lexicon_overrides',
  'sites',
  'staff_roles',
  'staff_sessions',
  'staff_users',
  'subject_logins',
  'subjects',
];

/** The committed migrations: one journal entry each. */
const MIGRATION_COUNT = (
  JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  }
).entries.length;

async function tablesOf(database: Database): Promise<string[]> {
  const result = await database.db.execute<{ table_name: string }>(
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return result.rows.map((row) => row.table_name);
}

describe.each(DATABASE_KINDS)('migrations on %s', (kind) => {
  let setup: TestCollectorConfig;
  let database: Database;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    database = await openDatabase(setup.config.database);
  });

  afterAll(async () => {
    await database.close();
    await setup.cleanup();
  });

  it('create every table from the committed migrations, and a second run changes nothing', async () => {
    expect(await tablesOf(database)).toEqual([]);
    await database.migrate();
    expect(await tablesOf(database)).toEqual(TABLES);
    await database.migrate();
    const applied = await database.db.execute<{ count: string | number }>(
      sql`select count(*) as count from drizzle.__drizzle_migrations`,
    );
    expect(Number(applied.rows[0]?.count)).toBe(MIGRATION_COUNT);
  });

  it('index the triage queue by site, status, severity and time', async () => {
    const result = await database.db.execute<{ indexdef: string }>(
      sql`select indexdef from pg_indexes where indexname = 'captures_triage_idx'`,
    );
    expect(result.rows[0]?.indexdef).toContain(
      '(site_id, status, severity DESC, observed_at DESC, id DESC)',
    );
  });
});

describe('migrations on PostgreSQL with several collectors starting at once', () => {
  it('take turns under the advisory lock and apply each migration once', async () => {
    const setup = await makeTestConfig('postgres');
    const databases = await Promise.all([1, 2, 3].map(() => openDatabase(setup.config.database)));
    try {
      await Promise.all(databases.map((database) => database.migrate()));
      const first = databases[0];
      if (!first) throw new Error('unreachable');
      expect(await tablesOf(first)).toEqual(TABLES);
      const applied = await first.db.execute<{ count: string | number }>(
        sql`select count(*) as count from drizzle.__drizzle_migrations`,
      );
      expect(Number(applied.rows[0]?.count)).toBe(MIGRATION_COUNT);
    } finally {
      await Promise.all(databases.map((database) => database.close()));
      await setup.cleanup();
    }
  });
});

describe('a PostgreSQL connection lost in the middle of a transaction', () => {
  it('fails that transaction and nothing else: the process keeps running and the pool recovers', async () => {
    const setup = await makeTestConfig('postgres');
    const reported: Error[] = [];
    const database = await openDatabase(setup.config.database, {
      onIdleError: (error) => reported.push(error),
    });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const transaction = database.db.transaction(async (tx) => {
        const [row] = (await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`)).rows;
        // Another connection ends this one's backend, as a server restart would.
        await database.db.execute(sql`select pg_terminate_backend(${row?.pid ?? 0})`);
        await tx.execute(sql`select pg_sleep(1)`);
      });
      await expect(transaction).rejects.toThrow();
      await expect(database.ping()).resolves.toBeUndefined();
      expect(uncaught).toEqual([]);
      expect(reported.length).toBeGreaterThan(0);
    } finally {
      process.off('uncaughtException', onUncaught);
      await database.close();
      await setup.cleanup();
    }
  });
});
