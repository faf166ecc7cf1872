import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePostgres, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migratePostgres } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';

import type { CollectorConfig } from '../config.ts';
import { CollectorError } from '../errors.ts';

/** The committed migrations (apps/collector/drizzle), from src/ or dist/. */
export const MIGRATIONS_DIR = join(
  dirname(dirname(dirname(fileURLToPath(import.meta.url)))),
  'drizzle',
);

/** Any constant will do, as long as every collector of one database uses the same. */
const MIGRATION_LOCK_KEY = 4_212_202_611;

/**
 * The drizzle database, one API over PGlite and PostgreSQL. Typed as node-postgres's:
 * PGlite's driver returns the same shapes (`{ rows }`), and one type keeps every query
 * callable without a union of signatures.
 */
export type Db = NodePgDatabase;

/** An open database: drizzle over embedded PGlite or a PostgreSQL pool. Call `close()` once done. */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /** Run a trivial query; throws when the database cannot answer. */
  ping(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Apply every committed migration the database has not had. On PostgreSQL several
   * collectors may start at once: an advisory lock makes them take turns, and those after
   * the first find nothing to do.
   */
  migrate(): Promise<void>;
  /** Connection pool figures for /metrics; undefined for embedded PGlite. */
  poolStats(): { total: number; idle: number; waiting: number } | undefined;
  close(): Promise<void>;
}

/** Settle with `work`, or reject with the signal's reason as soon as it aborts. */
async function untilAborted(
  work: Promise<unknown>,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (!signal) {
    await work;
    return;
  }
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Open the database the configuration names: PGlite in the data folder when no
 * `DATABASE_URL` is set, else a pooled PostgreSQL connection (checked with one query so a
 * wrong URL fails at start, not at the first capture).
 * @throws CollectorError `DATA_DIR_UNWRITABLE` or `DATABASE_UNAVAILABLE`.
 */
export async function openDatabase(
  config: CollectorConfig['database'],
  options: { onIdleError?: (error: Error) => void } = {},
): Promise<Database> {
  if (config.kind === 'pglite') {
    try {
      await mkdir(config.dir, { recursive: true });
    } catch (cause) {
      throw new CollectorError(
        'DATA_DIR_UNWRITABLE',
        `Cannot create the database folder ${config.dir}: set LANTERN_DATA_DIR to a folder the collector may write.`,
        { cause },
      );
    }
    let client: PGlite;
    try {
      client = await PGlite.create(config.dir);
    } catch (cause) {
      throw new CollectorError(
        'DATABASE_UNAVAILABLE',
        `Cannot open the embedded database in ${config.dir}: is another collector using this data folder?`,
        { cause },
      );
    }
    const pgliteDb = drizzlePglite({ client });
    const db = pgliteDb as unknown as Db;
    let closed = false;
    return {
      kind: 'pglite',
      db,
      ping: (options) => untilAborted(db.execute(sql`select 1`), options?.signal),
      migrate: () => migratePglite(pgliteDb, { migrationsFolder: MIGRATIONS_DIR }),
      poolStats: () => undefined,
      close: async () => {
        if (closed) return;
        closed = true;
        await client.close();
      },
    };
  }

  const pool = new pg.Pool({
    connectionString: config.url,
    max: 10,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client's error (a server restart) must not crash the process: the pool drops
  // that client and opens a new one on the next query. Report it, nothing more.
  pool.on('error', (error) => options.onIdleError?.(error));
  const db: Db = drizzlePostgres({ client: pool });
  try {
    await db.execute(sql`select 1`);
  } catch (cause) {
    await pool.end();
    const where = new URL(config.url);
    throw new CollectorError(
      'DATABASE_UNAVAILABLE',
      `Cannot reach PostgreSQL at ${where.hostname}:${where.port || 5432}/${where.pathname.slice(1)}: ${cause instanceof Error ? cause.message : String(cause)}. Check DATABASE_URL and that the server is running.`,
      { cause },
    );
  }
  let closed = false;
  return {
    kind: 'postgres',
    db,
    ping: (options) => untilAborted(db.execute(sql`select 1`), options?.signal),
    migrate: async () => {
      // A session lock on one connection, and the migrations run on that same connection;
      // if this process dies the connection closes and the lock goes with it.
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          await migratePostgres(drizzlePostgres({ client }), { migrationsFolder: MIGRATIONS_DIR });
        } finally {
          await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        }
      } finally {
        client.release();
      }
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
