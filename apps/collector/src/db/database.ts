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
  /** Run a trivial query (on PostgreSQL, on a connection outside the pool); throws when the database cannot answer. */
  ping(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Apply every committed migration the database has not had. On PostgreSQL several
   * collectors may start at once: an advisory lock makes them take turns, and those after
   * the first find nothing to do.
   */
  migrate(): Promise<void>;
  /**
   * Receive NOTIFY payloads on a channel, from every collector of this database (PostgreSQL)
   * or this process (PGlite). Notifications sent while a PostgreSQL listener reconnects are
   * lost: `onReconnect` runs after each reconnection so a subscriber can catch up.
   * @returns a function that stops listening.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onReconnect?: () => void,
  ): Promise<() => Promise<void>>;
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
      listen: async (channel, onPayload) => {
        const unlisten = await client.listen(channel, onPayload);
        return async () => {
          if (!closed) await unlisten();
        };
      },
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
  // pg-pool listens for errors only on idle clients: a server that goes away while a client
  // is checked out (mid-transaction) would raise an uncaught error and end the process. The
  // query in flight fails on its own; this listener only keeps the process alive.
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onIdleError?.(error));
  });
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
  const listener = new PgListener(config.url, options.onIdleError);
  // Health checks ask whether PostgreSQL answers, not whether the pool is free: on a
  // connection of their own they do not queue behind a reconnect storm's queries.
  const healthPool = new pg.Pool({
    connectionString: config.url,
    max: 1,
    connectionTimeoutMillis: 5_000,
    // A server that stops answering mid-query must not hold the one connection for ever.
    query_timeout: 5_000,
  });
  healthPool.on('error', (error) => options.onIdleError?.(error));
  healthPool.on('connect', (client) => {
    client.on('error', (error) => options.onIdleError?.(error));
  });
  return {
    kind: 'postgres',
    db,
    ping: (options) => untilAborted(healthPool.query('select 1'), options?.signal),
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
    listen: (channel, onPayload, onReconnect) => listener.listen(channel, onPayload, onReconnect),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: async () => {
      if (closed) return;
      closed = true;
      await listener.close();
      await Promise.all([pool.end(), healthPool.end()]);
    },
  };
}

interface Subscription {
  readonly onPayload: (payload: string) => void;
  readonly onReconnect: (() => void) | undefined;
}

/**
 * One connection, outside the pool, that LISTENs for every channel this collector follows.
 * If it drops (a server restart), it reconnects with backoff, LISTENs again and tells the
 * subscribers, who catch up on what they may have missed.
 */
class PgListener {
  private readonly url: string;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly channels = new Map<string, Set<Subscription>>();
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 500;
  private closed = false;

  constructor(url: string, onError: ((error: Error) => void) | undefined) {
    this.url = url;
    this.onError = onError;
  }

  async listen(
    channel: string,
    onPayload: (payload: string) => void,
    onReconnect?: () => void,
  ): Promise<() => Promise<void>> {
    const subscription: Subscription = { onPayload, onReconnect };
    const subscribers = this.channels.get(channel) ?? new Set();
    const first = subscribers.size === 0;
    subscribers.add(subscription);
    this.channels.set(channel, subscribers);
    const client = await this.connect();
    if (first) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    return async () => {
      subscribers.delete(subscription);
      if (subscribers.size === 0 && this.client && !this.closed) {
        this.channels.delete(channel);
        await this.client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`);
      }
    };
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('notification', (message) => {
        for (const subscription of this.channels.get(message.channel) ?? [])
          subscription.onPayload(message.payload ?? '');
      });
      client.on('error', (error) => {
        this.onError?.(error);
        this.lost(client);
      });
      client.on('end', () => this.lost(client));
      try {
        await client.connect();
      } finally {
        this.connecting = undefined;
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reconnect();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    try {
      const client = await this.connect();
      for (const channel of this.channels.keys())
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      this.retryMs = 500;
      for (const subscribers of this.channels.values())
        for (const subscription of subscribers) subscription.onReconnect?.();
    } catch (error) {
      this.onError?.(error as Error);
      this.client = undefined;
      this.retryMs = Math.min(this.retryMs * 2, 30_000);
      this.scheduleReconnect();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
