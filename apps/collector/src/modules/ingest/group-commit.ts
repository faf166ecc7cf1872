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
 * next one, which stores them all in one statement. Under load many sockets share each
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
    // 500 rows keep a backlog moving while one commit stays short (a few milliseconds).
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
        await insertCaptures(this.db, [...unique.values()]);
        this.stats.commits += 1;
        this.stats.captures += unique.size;
        for (const item of group) item.resolve();
      } catch (error) {
        if (group.length === 1) group[0]?.reject(error);
        // One capture the database refuses must not fail the captures of every other socket
        // it was grouped with, again at each resend: store each submitter's on its own.
        else await this.commitEach(group);
      }
    }
    this.running = undefined;
  }

  private async commitEach(group: readonly Waiting[]): Promise<void> {
    for (const item of group) {
      try {
        await insertCaptures(this.db, item.captures);
        this.stats.commits += 1;
        this.stats.captures += item.captures.length;
        item.resolve();
      } catch (error) {
        item.reject(error);
      }
    }
  }

  /** Stop taking captures and wait for the commit in flight. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}

/**
 * The plain way, kept as the benchmark's baseline: each capture stored by its own
 * statement (its own INSERT and commit), sockets running in parallel on the connection pool.
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
    const work = Promise.all(captures.map((capture) => insertCaptures(this.db, [capture]))).then(
      () => undefined,
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }
}
