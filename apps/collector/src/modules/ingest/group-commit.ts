import type { Capture } from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { insertCaptures } from './capture.repository.ts';

interface Waiting {
  readonly captures: readonly Capture[];
  resolve(): void;
  reject(error: unknown): void;
}

/** Stores captures and says when they are durable. */
export interface CaptureCommitter {
  submit(captures: readonly Capture[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Group commit across sockets: captures submitted while a commit is running wait for the
 * next one, which stores them all in one transaction. Under load many sockets share each
 * commit (one fsync, one round trip); when idle a capture is committed at once, so no
 * latency is added. Each submitter learns when its captures are durable.
 */
export class GroupCommitter implements CaptureCommitter {
  private readonly db: Db;
  private readonly maxBatch: number;
  private waiting: Waiting[] = [];
  private running: Promise<void> | undefined;
  private closed = false;
  /** Figures for /metrics. */
  readonly stats = { commits: 0, captures: 0 };

  constructor(db: Db, options: { maxBatch?: number } = {}) {
    this.db = db;
    // Building one INSERT costs more per row as it grows (drizzle's SQL builder): 500 rows
    // keep a backlog moving without making each capture dearer.
    this.maxBatch = options.maxBatch ?? 500;
  }

  /** Resolves once these captures are committed (or were already stored). */
  submit(captures: readonly Capture[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the collector is shutting down'));
    if (captures.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ captures, resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const group: Waiting[] = [];
      let size = 0;
      while (
        this.waiting.length > 0 &&
        (group.length === 0 || size + (this.waiting[0]?.captures.length ?? 0) <= this.maxBatch)
      ) {
        const next = this.waiting.shift();
        if (!next) break;
        group.push(next);
        size += next.captures.length;
      }
      // The same capture from two sockets (a resend racing its first send) is stored once.
      const unique = new Map<string, Capture>();
      for (const item of group)
        for (const capture of item.captures) unique.set(capture.id, capture);
      try {
        await this.db.transaction(async (tx) => {
          await insertCaptures(tx, [...unique.values()]);
        });
        this.stats.commits += 1;
        this.stats.captures += unique.size;
        for (const item of group) item.resolve();
      } catch (error) {
        for (const item of group) item.reject(error);
      }
    }
    this.running = undefined;
  }

  /** Stop taking captures and wait for the commit in flight. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}

/**
 * The plain way, kept as the benchmark's baseline: each capture in its own transaction
 * with its own INSERT, sockets running in parallel on the connection pool.
 */
export class PerCaptureCommitter implements CaptureCommitter {
  private readonly db: Db;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(db: Db) {
    this.db = db;
  }

  submit(captures: readonly Capture[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the collector is shutting down'));
    const work = Promise.all(
      captures.map((capture) =>
        this.db.transaction(async (tx) => {
          await insertCaptures(tx, [capture]);
        }),
      ),
    ).then(() => undefined);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }
}
