/**
 * The spool: where every capture waits, on disk, until the collector has acknowledged it.
 *
 *     const spool = await Spool.open({ dir, key, maxBytes, maxAgeDays });
 *     await spool.append(capture, screenshotBytes);   // resolves once fsynced
 *     const batch = await spool.pending({ limit: 32 }); // most severe first, then oldest
 *     …send, wait for the collector's ack…
 *     await spool.ack(ackFrame.captureIds);            // durable; space is reclaimed
 *     spool.stats();                                   // for the heartbeat's health
 *     await spool.close();
 *
 * Layout of `dir`: `spool.v1/` holds the segments (`000000000007-9f3a1c2b.seg`, captures
 * only, append-only) and the ledger (`ledger`: acks, drops and counters, append-only);
 * `quarantine/` receives what could not be read. The format is described in
 * `spool-format.ts`; the guarantees and their limits in the package README ("Spool").
 *
 * Writes go through one queue: concurrent `append` and `ack` calls are committed together
 * (group commit) with one write and one fsync per file touched, so 1,000 appends at once cost
 * a handful of fsyncs. A commit is also where the spool keeps its bounds: it evicts the
 * least severe records when full, drops expired ones, deletes segments with nothing live,
 * and rewrites (compacts) segments whose space is mostly dead.
 *
 * No method takes an AbortSignal: every call is bounded local disk work, and a commit that
 * has started cannot be un-written; `close()` is how a caller stops the spool.
 *
 * Order of `pending`: highest severity first, oldest first within a severity. After weeks
 * offline a laptop may hold thousands of captures; sending the severity-5 one in the first
 * batch is what gets a DSL to a child in danger within minutes. The collector orders by
 * `observedAt` and stores idempotently, so sending order changes nothing else.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { CaptureSchema, describeIssues, type Capture } from '@lantern/protocol';

import { errnoCode, SpoolError, type SpoolErrorCode } from './spool-errors.ts';
import {
  checkHeader,
  decodeCaptureRecord,
  decodeLedgerEntry,
  encodeCaptureRecord,
  encodeHeader,
  encodeLedgerEntry,
  frameLengthAt,
  HEADER_BYTES,
  KEY_BYTES,
  keyFingerprint,
  openFrame,
  recordAad,
  scanFrames,
  sealFrame,
  SPOOL_DIR_NAME,
  type CaptureRecord,
  type LedgerEntry,
} from './spool-format.ts';
import {
  readExactly,
  syncDirectory,
  writeChunks,
  writeFileAtomic,
  type SyncTarget,
} from './spool-io.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_SEVERITY = 5;
/** Room kept for the ledger entries of one commit when deciding whether a capture fits. */
const LEDGER_HEADROOM_BYTES = 16 * 1024;
/** The ledger is rewritten when it passes this size and most of its tombstones are stale. */
const LEDGER_COMPACT_MIN_BYTES = 64 * 1024;
/** A closed segment this dead (by bytes) is rewritten even when the spool is not full. */
const COMPACT_DEAD_FRACTION = 0.75;
/** The most capture bytes one commit writes; the rest waits for the next commit. */
const MAX_COMMIT_BYTES = 16 * 1024 * 1024;
const SEGMENT_NAME = /^\d{12}-[0-9a-f]{8}\.seg$/;
const LEDGER_NAME = 'ledger';
const QUARANTINE_DIR_NAME = 'quarantine';

/** Directories open in this process: two spools on one directory would corrupt it. */
const openDirectories = new Set<string>();

/** Options of `Spool.open`. */
export interface SpoolOptions {
  /** The spool's folder, made if missing (mode 0700): `spool.v1/` and `quarantine/` live in it. */
  readonly dir: string;
  /** The 32-byte key from `loadOrCreateSpoolKey`. */
  readonly key: Buffer;
  /** The most disk the spool may use, in bytes (policy `spool.maxBytes`). */
  readonly maxBytes: number;
  /** Captures observed longer ago than this are dropped and counted (policy `spool.maxAgeDays`). */
  readonly maxAgeDays: number;
  /** The clock, in ms since the epoch; tests inject one. */
  readonly now?: () => number;
  /** Called after every fsync, saying what was synced: lets tests and metrics count them. */
  readonly onSync?: (target: SyncTarget) => void;
}

/** The limits a policy sets (`SpoolPolicy`). */
export interface SpoolLimits {
  readonly maxBytes: number;
  readonly maxAgeDays: number;
}

/**
 * What became of an append. `stored`: on disk, fsynced. `already_pending`: a capture with
 * this id is already waiting (nothing written). `dropped_spool_full`: the spool is full of
 * captures at least as severe. `dropped_expired`: observed longer ago than `maxAgeDays`.
 * Both drops are counted in `droppedCount`.
 */
export type AppendOutcome = 'stored' | 'already_pending' | 'dropped_spool_full' | 'dropped_expired';

/** A capture waiting for the collector's ack, with its screenshot bytes when it has one. */
export interface SpoolEntry {
  readonly id: string;
  readonly capture: Capture;
  /** The bytes the capture's `screenshot.sha256` names; send them in a `screenshot` frame first. */
  readonly screenshot: Buffer | null;
  /** When the spool stored it (ISO 8601). */
  readonly spooledAt: string;
}

/** The spool's health, shaped like AgentHealth's `spool` fields plus the counters. */
export interface SpoolStats {
  /** Captures stored and not yet acknowledged. */
  readonly depth: number;
  /** Bytes of the spool's files on disk (segments and ledger). */
  readonly bytes: number;
  readonly oldestObservedAt: string | null;
  /** Captures dropped since the spool was created: spool full or too old. Survives restarts. */
  readonly droppedCount: number;
  /** Records found unreadable and moved to `quarantine/`. Survives restarts. */
  readonly quarantinedCount: number;
  /** The last problem the spool met, by code, without capture content. */
  readonly lastError: {
    readonly code: SpoolErrorCode;
    readonly message: string;
    readonly at: string;
  } | null;
}

interface Segment {
  readonly name: string;
  readonly path: string;
  /** Bytes on disk, header included. */
  size: number;
  /** Bytes and count of the frames of live records whose home is this segment. */
  liveBytes: number;
  liveCount: number;
  /** Record keys of every intact frame in the file: live, dead or a duplicate copy. */
  readonly copies: string[];
  /** False until its file has been created by a commit. */
  created: boolean;
  /** Damaged: its live records must move out and the file be deleted. */
  mustCompact: boolean;
}

interface LiveRecord {
  readonly id: string;
  readonly seq: number;
  /** `id@seq`: what a tombstone names, so a capture appended again after its ack is a new record. */
  readonly key: string;
  readonly severity: number;
  readonly observedAtMs: number;
  readonly observedAt: string;
  segment: Segment;
  offset: number;
  readonly length: number;
}

interface AppendOp {
  readonly kind: 'append';
  readonly capture: Capture;
  readonly screenshot: Buffer | null;
  readonly resolve: (outcome: AppendOutcome) => void;
  readonly reject: (error: unknown) => void;
}

interface AckOp {
  readonly kind: 'ack';
  readonly ids: readonly string[];
  readonly resolve: (acked: number) => void;
  readonly reject: (error: unknown) => void;
}

interface SetAsideOp {
  readonly kind: 'set_aside';
  readonly id: string;
  readonly code: string;
  readonly resolve: (setAside: boolean) => void;
  readonly reject: (error: unknown) => void;
}

type QueuedOp = AppendOp | AckOp | SetAsideOp;

interface Admitted {
  readonly op: AppendOp;
  readonly id: string;
  readonly seq: number;
  readonly severity: number;
  readonly observedAtMs: number;
  readonly frame: Buffer;
  evicted: boolean;
}

interface Ledger {
  handle: FileHandle | undefined;
  size: number;
  /** Record keys with a tombstone in the ledger file (acked, dropped or quarantined). */
  readonly tombstones: Set<string>;
  droppedCount: number;
  quarantinedCount: number;
  readonly quarantinedSegments: Set<string>;
  compactAtBytes: number;
  needsRewrite: boolean;
}

/**
 * A durable, bounded, encrypted queue of captures on local disk. Open it with
 * `Spool.open`; whoever opens it must `close()` it. Safe to call from many places at once
 * in one process; only one process may use a directory at a time (the agent is one
 * service; this is checked within the process only).
 */
export class Spool {
  private readonly root: string;
  private readonly spoolDir: string;
  private readonly quarantineDir: string;
  private readonly key: Buffer;
  private readonly fingerprint: Buffer;
  private readonly segmentAad = recordAad('segment');
  private readonly ledgerAad = recordAad('ledger');
  private readonly now: () => number;
  private readonly onSync: (target: SyncTarget) => void;
  private maxBytes: number;
  private maxAgeMs: number;

  private readonly live = new Map<string, LiveRecord>();
  /** Live records by severity (index severity − 1), each in append order. */
  private readonly bySeverity: Map<string, LiveRecord>[] = [];
  private liveBytes = 0;
  /** How many intact frames hold each record key, across segments: decides which tombstones to keep. */
  private readonly copies = new Map<string, number>();
  private readonly segments = new Map<string, Segment>();
  private active: Segment | undefined;
  private activeHandle: FileHandle | undefined;
  private nextSegmentSeq = 1;
  private nextSeq = 0;
  private nextExpiryAtMs = Number.NEGATIVE_INFINITY;
  private ledger: Ledger = emptyLedger();
  /**
   * Ledger entries the next commit must write: quarantine counts found while recovering,
   * and the entries of a commit whose ledger write failed (their records are already out
   * of the index, so their tombstones and counts must still reach the disk).
   */
  private unwrittenEntries: LedgerEntry[] = [];
  private lastError: SpoolStats['lastError'] = null;

  private queue: QueuedOp[] = [];
  private flushScheduled = false;
  private tail: Promise<void> = Promise.resolve();
  private broken: unknown = undefined;
  private closing: Promise<void> | undefined;

  private constructor(options: SpoolOptions, root: string) {
    this.root = root;
    this.spoolDir = join(root, SPOOL_DIR_NAME);
    this.quarantineDir = join(root, QUARANTINE_DIR_NAME);
    this.key = Buffer.from(options.key);
    this.fingerprint = keyFingerprint(this.key);
    this.now = options.now ?? Date.now;
    this.onSync = options.onSync ?? (() => undefined);
    this.maxBytes = options.maxBytes;
    this.maxAgeMs = options.maxAgeDays * DAY_MS;
    this.resetIndex();
  }

  /**
   * Open (or create) the spool in `options.dir` and recover its state: verify every
   * record, rebuild the index of pending captures, truncate a torn final write, move
   * unreadable records and files to `quarantine/` (counted, never blocking the rest), then
   * apply the limits. The caller must `close()` it.
   *
   * Throws SpoolError `SPOOL_OPTIONS_INVALID` (bad key length or limits), `SPOOL_LOCKED`
   * (already open in this process), or the fs error when the folder cannot be made or read.
   */
  static async open(options: SpoolOptions): Promise<Spool> {
    if (options.key.length !== KEY_BYTES) {
      throw new SpoolError(
        'SPOOL_OPTIONS_INVALID',
        `The spool key must be ${KEY_BYTES} bytes, got ${options.key.length}: load it with loadOrCreateSpoolKey.`,
      );
    }
    validateLimits(options);
    const root = resolve(options.dir);
    if (openDirectories.has(root)) {
      throw new SpoolError(
        'SPOOL_LOCKED',
        `The spool in ${root} is already open in this process: close it before opening it again.`,
      );
    }
    openDirectories.add(root);
    const spool = new Spool(options, root);
    try {
      await mkdir(spool.spoolDir, { recursive: true, mode: 0o700 });
      await mkdir(spool.quarantineDir, { recursive: true, mode: 0o700 });
      await spool.recover();
      return spool;
    } catch (error) {
      await spool.closeHandles();
      openDirectories.delete(root);
      throw error;
    }
  }

  /**
   * Store a capture (and the screenshot bytes its `screenshot.sha256` names, when it has
   * one) durably. Resolves once the record is written and fsynced; concurrent calls share
   * one write and one fsync. When the spool is full, the least severe stored captures are
   * evicted (oldest first) to make room; if every stored capture is more severe than this
   * one, this one is dropped instead. Either way the drop is counted.
   *
   * Rejects with SpoolError `SPOOL_RECORD_INVALID` (the capture fails CaptureSchema),
   * `SPOOL_SCREENSHOT_MISMATCH` (bytes missing for an attached screenshot, given for none,
   * or not matching its sha256/size), `SPOOL_WRITE_FAILED` (disk full or I/O error: the
   * capture is NOT stored; report it), `SPOOL_CLOSED`.
   */
  append(capture: Capture, screenshot?: Uint8Array): Promise<AppendOutcome> {
    if (this.closing) return Promise.reject(closedError());
    const parsed = CaptureSchema.safeParse(capture);
    if (!parsed.success) {
      return Promise.reject(
        new SpoolError(
          'SPOOL_RECORD_INVALID',
          `The capture cannot be spooled: ${describeIssues(parsed.error)}. This is a bug in the capture builder.`,
        ),
      );
    }
    const bytes = screenshot === undefined ? null : Buffer.from(screenshot);
    const problem = screenshotProblem(parsed.data, bytes);
    if (problem) {
      return Promise.reject(new SpoolError('SPOOL_SCREENSHOT_MISMATCH', problem));
    }
    return new Promise<AppendOutcome>((resolvePromise, reject) => {
      this.queue.push({
        kind: 'append',
        capture: parsed.data,
        screenshot: bytes,
        resolve: resolvePromise,
        reject,
      });
      this.scheduleFlush();
    });
  }

  /**
   * Up to `limit` captures waiting for an ack, most severe first, oldest first within a
   * severity, skipping the ids in `skip` (those the transport already has in flight). A
   * record that turned unreadable since open is quarantined here and left out. Rejects
   * with `SPOOL_CLOSED`, or `SPOOL_WRITE_FAILED` when the disk fails.
   */
  pending(options: { limit: number; skip?: ReadonlySet<string> }): Promise<SpoolEntry[]> {
    if (this.closing) return Promise.reject(closedError());
    return this.exclusive(async () => {
      await this.heal();
      if (this.now() >= this.nextExpiryAtMs) await this.commitOrBreak([]);
      const chosen: LiveRecord[] = [];
      for (
        let severity = MAX_SEVERITY;
        severity >= 1 && chosen.length < options.limit;
        severity--
      ) {
        for (const record of this.severityIndex(severity).values()) {
          if (chosen.length >= options.limit) break;
          if (!options.skip?.has(record.id)) chosen.push(record);
        }
      }
      try {
        return await this.readEntries(chosen);
      } catch (error) {
        this.markBroken(error);
        throw new SpoolError(
          'SPOOL_READ_FAILED',
          `The spool failed reading spooled captures (${errnoCode(error) ?? 'error'}): they stay spooled. Check the disk's health; the spool rebuilds its index from disk on the next call.`,
          { cause: error },
        );
      }
    });
  }

  /**
   * Mark captures as acknowledged by the collector, durably (an ack entry in the ledger,
   * fsynced; concurrent calls share it), and reclaim the space of segments with nothing
   * left to send. Unknown or already acknowledged ids are ignored (acks may repeat).
   * Resolves with how many captures it removed. Rejects with `SPOOL_WRITE_FAILED`,
   * `SPOOL_CLOSED`.
   */
  ack(ids: readonly string[]): Promise<number> {
    if (this.closing) return Promise.reject(closedError());
    if (ids.length === 0) return Promise.resolve(0);
    return new Promise<number>((resolvePromise, reject) => {
      this.queue.push({ kind: 'ack', ids: [...ids], resolve: resolvePromise, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Take a capture the collector refused for good (a non-retryable `error` frame) out of
   * the queue, so it does not go round and round: its record is copied, still encrypted,
   * to `quarantine/<id>.<code>.rejected`, counted in `quarantinedCount`, and tombstoned.
   * `code` is the wire error code (letters, digits, `_`). Resolves false when the capture is
   * not pending. Rejects with `SPOOL_WRITE_FAILED`, `SPOOL_CLOSED`.
   */
  setAside(captureId: string, code: string): Promise<boolean> {
    if (this.closing) return Promise.reject(closedError());
    const safeCode = code.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 64) || 'UNKNOWN';
    return new Promise<boolean>((resolvePromise, reject) => {
      this.queue.push({
        kind: 'set_aside',
        id: captureId,
        code: safeCode,
        resolve: resolvePromise,
        reject,
      });
      this.scheduleFlush();
    });
  }

  /** Depth, bytes, oldest capture and counters, from memory (cheap enough for every heartbeat). */
  stats(): SpoolStats {
    let oldest: LiveRecord | undefined;
    for (const record of this.live.values()) {
      if (!oldest || record.observedAtMs < oldest.observedAtMs) oldest = record;
    }
    return {
      depth: this.live.size,
      bytes: this.diskBytes(),
      oldestObservedAt: oldest?.observedAt ?? null,
      droppedCount: this.ledger.droppedCount,
      quarantinedCount: this.ledger.quarantinedCount,
      lastError: this.lastError,
    };
  }

  /**
   * Apply new limits (a new policy): evicts the least severe captures at once if the spool
   * is now over `maxBytes`, and drops captures now older than `maxAgeDays`; both counted.
   * Throws `SPOOL_OPTIONS_INVALID` for unusable limits, `SPOOL_WRITE_FAILED`, `SPOOL_CLOSED`.
   */
  setLimits(limits: SpoolLimits): Promise<void> {
    if (this.closing) return Promise.reject(closedError());
    try {
      validateLimits(limits);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.exclusive(async () => {
      await this.heal();
      this.maxBytes = limits.maxBytes;
      this.maxAgeMs = limits.maxAgeDays * DAY_MS;
      this.nextExpiryAtMs = Number.NEGATIVE_INFINITY;
      await this.commitOrBreak([]);
    });
  }

  /**
   * Commit what is queued, then close the files. Idempotent. Calls made after `close()`
   * reject with `SPOOL_CLOSED`.
   */
  close(): Promise<void> {
    this.closing ??= this.exclusive(async () => {
      await this.closeHandles();
      openDirectories.delete(this.root);
    });
    return this.closing;
  }

  // ── the commit queue ─────────────────────────────────────────────────────────────

  /** Run `task` after every task queued before it: commits, reads and limit changes never interleave. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Group commit: the first write queues one flush behind whatever is running; every
   * write that arrives before that flush starts (including during the previous fsync)
   * joins it.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    void this.exclusive(() => this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const ops = this.takeBatch();
    if (this.queue.length > 0) this.scheduleFlush();
    if (ops.length === 0) return;
    try {
      await this.heal();
      await this.commit(ops);
    } catch (error) {
      await this.recoverFromFailedCommit(error);
      const failure = writeFailed(
        'committing captures and acks',
        'none of the captures in this batch is stored, and none of these acks recorded',
        error,
      );
      for (const op of ops) op.reject(failure);
    }
  }

  private takeBatch(): QueuedOp[] {
    let bytes = 0;
    let count = 0;
    for (const op of this.queue) {
      const opBytes = op.kind === 'append' ? 4096 + (op.screenshot?.length ?? 0) : 0;
      if (count > 0 && bytes + opBytes > MAX_COMMIT_BYTES) break;
      bytes += opBytes;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  private async commitOrBreak(ops: readonly QueuedOp[]): Promise<void> {
    try {
      await this.commit(ops);
    } catch (error) {
      await this.recoverFromFailedCommit(error);
      throw writeFailed('applying the spool limits', 'the limits apply on the next commit', error);
    }
  }

  /**
   * A commit failed (disk full, I/O error). Cut both files back to their last synced
   * length, so no half-written frame stays for later writes to follow, and write the
   * next records into a new segment. Records the failed commit took out of the index
   * (acked, evicted, expired) stay out; their ledger entries are retried by the next
   * commit. If even that repair fails, the next call rebuilds everything from disk.
   */
  private async recoverFromFailedCommit(error: unknown): Promise<void> {
    this.noteError('SPOOL_WRITE_FAILED', `spool write failed (${errnoCode(error) ?? 'error'})`);
    try {
      await this.retireActive({ discardUnsynced: true });
      const handle = this.ledger.handle;
      if (!handle) throw error; // a ledger rewrite failed half-way: only the disk knows
      await handle.truncate(this.ledger.size);
    } catch {
      // The repair failed too: heal() rebuilds memory from disk on the next call.
      this.broken = error;
    }
  }

  /** After a failure nothing could repair, memory may not match the disk: rebuild it from the disk. */
  private async heal(): Promise<void> {
    if (this.broken === undefined) return;
    await this.closeHandles();
    this.resetIndex();
    await this.recover();
    this.broken = undefined;
  }

  private markBroken(error: unknown): void {
    this.broken = error;
    this.noteError('SPOOL_READ_FAILED', `spool read failed (${errnoCode(error) ?? 'error'})`);
  }

  /**
   * One commit: acks, expiry, appends (evicting to make room), then one ledger write and
   * one segment write in parallel, each fsynced; only then are dead segments deleted, so
   * a record's bytes never go before the entry that explains why.
   */
  private async commit(ops: readonly QueuedOp[]): Promise<void> {
    const entries: LedgerEntry[] = this.unwrittenEntries;
    this.unwrittenEntries = [];
    let ledgerWritten = false;
    try {
      await this.commitWith(ops, entries, () => {
        ledgerWritten = true;
      });
    } catch (error) {
      if (!ledgerWritten) this.unwrittenEntries = [...entries, ...this.unwrittenEntries];
      throw error;
    }
  }

  private async commitWith(
    ops: readonly QueuedOp[],
    entries: LedgerEntry[],
    onLedgerWritten: () => void,
  ): Promise<void> {
    const now = this.now();
    const ackCounts = new Map<AckOp, number>();
    const outcomes = new Map<AppendOp, AppendOutcome>();

    const acked: string[] = [];
    for (const op of ops) {
      if (op.kind !== 'ack') continue;
      let count = 0;
      for (const id of op.ids) {
        const record = this.live.get(id);
        if (!record) continue;
        this.unindex(record);
        acked.push(record.key);
        count += 1;
      }
      ackCounts.set(op, count);
    }
    if (acked.length > 0) entries.push({ t: 'acked', keys: acked });

    const setAside = new Map<SetAsideOp, boolean>();
    const asideKeys: string[] = [];
    for (const op of ops) {
      if (op.kind !== 'set_aside') continue;
      const record = this.live.get(op.id);
      if (!record) {
        setAside.set(op, false);
        continue;
      }
      // The evidence is on disk (synced) before the tombstone that removes the record.
      const [frame] = (await this.readFrames([record])).values();
      await this.quarantineBytes(`${record.id}.${op.code}.rejected`, frame ?? Buffer.alloc(0));
      this.unindex(record);
      asideKeys.push(record.key);
      setAside.set(op, true);
    }
    if (asideKeys.length > 0) {
      entries.push({ t: 'quarantined', segment: null, keys: asideKeys, records: asideKeys.length });
      await this.trimQuarantine();
    }

    const expired = this.takeExpired(now);
    let refusedExpired = 0;
    const evicted: string[] = [];
    const refusedFull = { count: 0 };
    const admitted: Admitted[] = [];
    this.makeRoom(0, MAX_SEVERITY, admitted, evicted, refusedFull);
    const batchIds = new Set<string>();
    for (const op of ops) {
      if (op.kind !== 'append') continue;
      const { capture } = op;
      if (this.live.has(capture.id) || batchIds.has(capture.id)) {
        outcomes.set(op, 'already_pending');
        continue;
      }
      const observedAtMs = Date.parse(capture.observedAt);
      if (now - observedAtMs > this.maxAgeMs) {
        outcomes.set(op, 'dropped_expired');
        refusedExpired += 1;
        continue;
      }
      const seq = this.nextSeq++;
      const frame = sealFrame(
        this.key,
        this.segmentAad,
        encodeCaptureRecord({ seq, spooledAtMs: now, capture, screenshot: op.screenshot }),
      );
      if (this.makeRoom(frame.length, capture.severity, admitted, evicted, refusedFull)) {
        admitted.push({
          op,
          id: capture.id,
          seq,
          severity: capture.severity,
          observedAtMs,
          frame,
          evicted: false,
        });
        batchIds.add(capture.id);
        outcomes.set(op, 'stored');
      } else {
        outcomes.set(op, 'dropped_spool_full');
        refusedFull.count += 1;
      }
    }
    for (const entry of admitted) {
      if (entry.evicted) outcomes.set(entry.op, 'dropped_spool_full');
    }
    if (expired.length > 0 || refusedExpired > 0) {
      entries.push({ t: 'dropped', reason: 'expired', keys: expired, refused: refusedExpired });
    }
    if (evicted.length > 0 || refusedFull.count > 0) {
      entries.push({
        t: 'dropped',
        reason: 'spool_full',
        keys: evicted,
        refused: refusedFull.count,
      });
    }
    const toWrite = admitted.filter((entry) => !entry.evicted);
    const newBytes = toWrite.reduce((sum, entry) => sum + entry.frame.length, 0);

    // Plan reclamation: empty segments go; damaged, mostly dead, or (when over the limit)
    // the deadest segments are compacted: their live records move into the segment written now.
    const ledgerBytes = entries.reduce(
      (sum, entry) => sum + 64 + encodeLedgerEntry(entry).length,
      0,
    );
    const compacted = new Set(this.planCompaction(newBytes + ledgerBytes));
    const deleted = [...this.segments.values()].filter(
      (segment) => segment.liveCount === 0 && !compacted.has(segment),
    );
    const moving =
      compacted.size === 0
        ? []
        : [...this.live.values()].filter((record) => compacted.has(record.segment));
    const copies = await this.readCopies(moving, entries);

    if (
      this.active &&
      (deleted.includes(this.active) || compacted.has(this.active) || this.activeIsFull())
    ) {
      await this.retireActive({ discardUnsynced: false });
    }
    const chunks = [...copies.map((copy) => copy.frame), ...toWrite.map((entry) => entry.frame)];
    // Both files are written and synced at once; settle both before acting on either.
    const [ledgerWrite, segmentWrite] = await Promise.allSettled([
      this.writeLedger(entries),
      chunks.length > 0 ? this.writeSegment(chunks) : Promise.resolve(undefined),
    ]);
    if (ledgerWrite.status === 'rejected') throw ledgerWrite.reason;
    onLedgerWritten();
    if (segmentWrite.status === 'rejected') throw segmentWrite.reason;
    const placed = segmentWrite.value;

    if (placed) {
      let offset = placed.offset;
      for (const copy of copies) {
        this.moveRecord(copy.record, placed.segment, offset);
        offset += copy.frame.length;
      }
      for (const entry of toWrite) {
        this.indexRecord(
          {
            id: entry.id,
            seq: entry.seq,
            key: recordKey(entry.id, entry.seq),
            severity: entry.severity,
            observedAtMs: entry.observedAtMs,
            observedAt: entry.op.capture.observedAt,
            segment: placed.segment,
            offset,
            length: entry.frame.length,
          },
          true,
        );
        offset += entry.frame.length;
      }
    }
    const doomed = [...deleted, ...compacted].filter((segment) => segment !== this.active);
    if (doomed.length > 0) await this.deleteSegments(doomed);
    await this.maybeRewriteLedger();

    for (const op of ops) {
      if (op.kind === 'ack') op.resolve(ackCounts.get(op) ?? 0);
      else if (op.kind === 'set_aside') op.resolve(setAside.get(op) ?? false);
      else op.resolve(outcomes.get(op) ?? 'stored');
    }
  }

  /**
   * Make room for `need` more bytes of live records by evicting, least severe and oldest
   * first, only records no more severe than `maxSeverity`. All or nothing: when even
   * evicting every eligible record would not make room, nothing is evicted and the caller
   * drops the newcomer.
   */
  private makeRoom(
    need: number,
    maxSeverity: number,
    admitted: Admitted[],
    evicted: string[],
    refused: { count: number },
  ): boolean {
    const budget = this.maxBytes - this.reservedBytes();
    const admittedBytes = admitted.reduce(
      (sum, entry) => sum + (entry.evicted ? 0 : entry.frame.length),
      0,
    );
    const used = this.liveBytes + admittedBytes;
    if (used + need <= budget) return true;

    const victims: (LiveRecord | Admitted)[] = [];
    let freed = 0;
    search: for (let severity = 1; severity <= maxSeverity; severity++) {
      for (const record of this.severityIndex(severity).values()) {
        victims.push(record);
        freed += record.length;
        if (used - freed + need <= budget) break search;
      }
      for (const entry of admitted) {
        if (entry.evicted || entry.severity !== severity) continue;
        victims.push(entry);
        freed += entry.frame.length;
        if (used - freed + need <= budget) break search;
      }
    }
    if (used - freed + need > budget) return false;
    for (const victim of victims) {
      if ('frame' in victim) {
        victim.evicted = true;
        refused.count += 1;
      } else {
        this.unindex(victim);
        evicted.push(victim.key);
      }
    }
    return true;
  }

  /** Segments to rewrite in this commit, given that it will add `incoming` bytes. */
  private planCompaction(incoming: number): Segment[] {
    const dead = (segment: Segment) => segment.size - HEADER_BYTES - segment.liveBytes;
    const candidates = [...this.segments.values()].filter((segment) => segment.liveCount > 0);
    const chosen = candidates.filter(
      (segment) =>
        segment.mustCompact ||
        ((segment !== this.active || this.activeIsFull()) &&
          dead(segment) >= COMPACT_DEAD_FRACTION * segment.size),
    );
    let projected =
      this.ledger.size +
      incoming +
      HEADER_BYTES +
      [...this.segments.values()]
        .filter((segment) => segment.liveCount > 0)
        .reduce((sum, segment) => sum + segment.size, 0) -
      chosen.reduce((sum, segment) => sum + dead(segment), 0);
    const rest = candidates
      .filter((segment) => !chosen.includes(segment) && dead(segment) > 0)
      .sort((a, b) => dead(b) - dead(a));
    for (const segment of rest) {
      if (projected <= this.maxBytes) break;
      chosen.push(segment);
      projected -= dead(segment);
    }
    return chosen;
  }

  /**
   * Read the frames of records that move. A frame whose CRC no longer holds is
   * quarantined (a tombstone entry joins this commit) instead of being copied.
   */
  private async readCopies(
    moving: readonly LiveRecord[],
    entries: LedgerEntry[],
  ): Promise<{ record: LiveRecord; frame: Buffer }[]> {
    const copies: { record: LiveRecord; frame: Buffer }[] = [];
    const lost: string[] = [];
    for (const [record, frame] of await this.readFrames(moving)) {
      if (frameLengthAt(frame, 0) === record.length) {
        copies.push({ record, frame });
      } else {
        await this.quarantineBytes(`${record.segment.name}@${record.offset}.bad`, frame);
        this.unindex(record);
        lost.push(record.key);
      }
    }
    if (lost.length > 0) {
      entries.push({ t: 'quarantined', segment: null, keys: lost, records: lost.length });
      await this.trimQuarantine();
      this.noteError(
        'SPOOL_CORRUPT_RECORD',
        `${lost.length} spooled record(s) became unreadable; moved to quarantine`,
      );
    }
    return copies;
  }

  private takeExpired(now: number): string[] {
    if (now < this.nextExpiryAtMs) return [];
    const expired: LiveRecord[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const record of this.live.values()) {
      if (now - record.observedAtMs > this.maxAgeMs) expired.push(record);
      else next = Math.min(next, record.observedAtMs + this.maxAgeMs + 1);
    }
    this.nextExpiryAtMs = next;
    for (const record of expired) this.unindex(record);
    return expired.map((record) => record.key);
  }

  /**
   * Bytes of `maxBytes` not available to live records: the ledger and its headroom, the
   * segment headers, and one segment's worth of dead bytes waiting to be reclaimed. That
   * slack is what keeps a full spool cheap: evicting one small record must not force a
   * rewrite of a whole segment on every append; instead the oldest segment empties as its
   * records are evicted and is deleted without copying anything.
   */
  private reservedBytes(): number {
    return (
      this.ledger.size +
      LEDGER_HEADROOM_BYTES +
      HEADER_BYTES * (this.segments.size + 1) +
      this.segmentTargetBytes()
    );
  }

  private diskBytes(): number {
    let bytes = this.ledger.size;
    for (const segment of this.segments.values()) if (segment.created) bytes += segment.size;
    return bytes;
  }

  private segmentTargetBytes(): number {
    return Math.min(8 * 1024 * 1024, Math.max(64 * 1024, Math.floor(this.maxBytes / 16)));
  }

  private activeIsFull(): boolean {
    return this.active !== undefined && this.active.size >= this.segmentTargetBytes();
  }

  // ── the index ────────────────────────────────────────────────────────────────────

  private resetIndex(): void {
    this.live.clear();
    this.bySeverity.length = 0;
    for (let severity = 1; severity <= MAX_SEVERITY; severity++) this.bySeverity.push(new Map());
    this.liveBytes = 0;
    this.copies.clear();
    this.segments.clear();
    this.active = undefined;
    this.activeHandle = undefined;
    this.nextSeq = 0;
    this.nextExpiryAtMs = Number.NEGATIVE_INFINITY;
    this.ledger = emptyLedger();
    this.unwrittenEntries = [];
  }

  private severityIndex(severity: number): Map<string, LiveRecord> {
    const index = this.bySeverity[severity - 1];
    if (!index) throw new RangeError(`severity ${severity} is outside 1–${MAX_SEVERITY}`);
    return index;
  }

  /** Add a live record; `newCopy` when its frame was just written (not found by recovery). */
  private indexRecord(record: LiveRecord, newCopy: boolean): void {
    this.live.set(record.id, record);
    this.severityIndex(record.severity).set(record.id, record);
    this.liveBytes += record.length;
    record.segment.liveBytes += record.length;
    record.segment.liveCount += 1;
    if (newCopy) this.addCopy(record.segment, record.key);
    this.nextExpiryAtMs = Math.min(this.nextExpiryAtMs, record.observedAtMs + this.maxAgeMs + 1);
  }

  private unindex(record: LiveRecord): void {
    this.live.delete(record.id);
    this.severityIndex(record.severity).delete(record.id);
    this.liveBytes -= record.length;
    record.segment.liveBytes -= record.length;
    record.segment.liveCount -= 1;
  }

  private moveRecord(record: LiveRecord, segment: Segment, offset: number): void {
    record.segment.liveBytes -= record.length;
    record.segment.liveCount -= 1;
    record.segment = segment;
    record.offset = offset;
    segment.liveBytes += record.length;
    segment.liveCount += 1;
    this.addCopy(segment, record.key);
  }

  private addCopy(segment: Segment, key: string): void {
    segment.copies.push(key);
    this.copies.set(key, (this.copies.get(key) ?? 0) + 1);
  }

  // ── segments ─────────────────────────────────────────────────────────────────────

  private newSegment(): Segment {
    const seq = this.nextSegmentSeq++;
    const name = `${String(seq).padStart(12, '0')}-${randomBytes(4).toString('hex')}.seg`;
    return {
      name,
      path: join(this.spoolDir, name),
      size: HEADER_BYTES,
      liveBytes: 0,
      liveCount: 0,
      copies: [],
      created: false,
      mustCompact: false,
    };
  }

  /**
   * Stop writing to the active segment; the next write starts a new one. With
   * `discardUnsynced` (after a failed write) whatever was written past its last synced
   * length is cut off, and a segment that never completed its first write is deleted.
   */
  private async retireActive(options: { discardUnsynced: boolean }): Promise<void> {
    const segment = this.active;
    const handle = this.activeHandle;
    this.active = undefined;
    this.activeHandle = undefined;
    if (!segment || !handle) return;
    try {
      if (options.discardUnsynced && segment.created) {
        await handle.truncate(segment.size);
        await handle.sync();
        this.onSync('segment');
      }
    } finally {
      await handle.close();
    }
    if (options.discardUnsynced && !segment.created) await rm(segment.path, { force: true });
  }

  /** Append frames to the active segment (creating one if needed), fsync, and say where they went. */
  private async writeSegment(
    chunks: readonly Buffer[],
  ): Promise<{ segment: Segment; offset: number }> {
    let segment = this.active;
    let handle = this.activeHandle;
    const creating = !segment || !handle;
    if (!segment || !handle) {
      segment = this.newSegment();
      handle = await open(segment.path, 'wx', 0o600);
      this.active = segment;
      this.activeHandle = handle;
    }
    const header = creating ? [encodeHeader('segment', this.fingerprint)] : [];
    const start = creating ? 0 : segment.size;
    const written = await writeChunks(handle, [...header, ...chunks], start);
    await handle.sync();
    this.onSync('segment');
    if (creating) {
      await syncDirectory(this.spoolDir);
      this.onSync('directory');
      segment.created = true;
      this.segments.set(segment.name, segment);
    }
    segment.size = start + written;
    return { segment, offset: start + (creating ? HEADER_BYTES : 0) };
  }

  private async deleteSegments(doomed: readonly Segment[]): Promise<void> {
    for (const segment of doomed) {
      await rm(segment.path, { force: true });
      this.segments.delete(segment.name);
      for (const key of segment.copies) {
        const left = (this.copies.get(key) ?? 1) - 1;
        if (left > 0) this.copies.set(key, left);
        else this.copies.delete(key);
      }
    }
    await syncDirectory(this.spoolDir);
    this.onSync('directory');
  }

  // ── the ledger ───────────────────────────────────────────────────────────────────

  private ledgerPath(): string {
    return join(this.spoolDir, LEDGER_NAME);
  }

  private async writeLedger(entries: readonly LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const handle = this.ledger.handle;
    if (!handle) throw new Error('the ledger is not open');
    const frames = entries.map((entry) =>
      sealFrame(this.key, this.ledgerAad, encodeLedgerEntry(entry)),
    );
    const written = await writeChunks(handle, frames, this.ledger.size);
    await handle.sync();
    this.onSync('ledger');
    this.ledger.size += written;
    for (const entry of entries) applyLedgerEntry(this.ledger, entry);
  }

  /**
   * Rewrite the ledger when it has grown and most of its tombstones name records no
   * longer on disk: counters fold into one `base` entry; tombstones of records still
   * physically present stay. Atomic (write, fsync, rename).
   */
  private async maybeRewriteLedger(): Promise<void> {
    const ledger = this.ledger;
    if (!ledger.needsRewrite && ledger.size < ledger.compactAtBytes) return;
    const kept = [...ledger.tombstones].filter((key) => this.copies.has(key));
    if (!ledger.needsRewrite && kept.length * 2 > ledger.tombstones.size) {
      ledger.compactAtBytes = ledger.size * 2;
      return;
    }
    const stillHere = [...ledger.quarantinedSegments].filter((name) => this.segments.has(name));
    const entries: LedgerEntry[] = [
      {
        t: 'base',
        droppedCount: ledger.droppedCount,
        quarantinedCount: ledger.quarantinedCount,
        quarantinedSegments: stillHere,
      },
    ];
    if (kept.length > 0) entries.push({ t: 'acked', keys: kept });
    const contents = [
      encodeHeader('ledger', this.fingerprint),
      ...entries.map((entry) => sealFrame(this.key, this.ledgerAad, encodeLedgerEntry(entry))),
    ];
    await ledger.handle?.close();
    ledger.handle = undefined;
    await writeFileAtomic(this.ledgerPath(), contents, () => this.onSync('ledger'));
    await syncDirectory(this.spoolDir);
    this.onSync('directory');
    const fresh = emptyLedger();
    fresh.handle = await open(this.ledgerPath(), 'r+');
    fresh.size = contents.reduce((sum, chunk) => sum + chunk.length, 0);
    for (const entry of entries) applyLedgerEntry(fresh, entry);
    fresh.compactAtBytes = Math.max(LEDGER_COMPACT_MIN_BYTES, fresh.size * 2);
    this.ledger = fresh;
  }

  // ── recovery ─────────────────────────────────────────────────────────────────────

  private async recover(): Promise<void> {
    const names = await readdir(this.spoolDir);
    // A ledger rewrite interrupted before its rename: the ledger itself is intact.
    await rm(`${this.ledgerPath()}.tmp`, { force: true });
    await this.loadLedger(names.includes(LEDGER_NAME));

    const segmentNames = names.filter((name) => SEGMENT_NAME.test(name)).sort();
    const found = new Map<string, { record: LiveRecord; seq: number }>();
    for (const [index, name] of segmentNames.entries()) {
      this.nextSegmentSeq = Math.max(this.nextSegmentSeq, Number.parseInt(name, 10) + 1);
      await this.loadSegment(name, index === segmentNames.length - 1, found);
    }
    const records = [...found.values()].sort((a, b) => a.seq - b.seq);
    for (const { record } of records) this.indexRecord(record, false);
    this.nextSeq = (records.at(-1)?.seq ?? -1) + 1;
    await this.commit([]);
    await this.trimQuarantine();
  }

  private async loadLedger(exists: boolean): Promise<void> {
    const path = this.ledgerPath();
    const file = exists ? await readFile(path) : Buffer.alloc(0);
    const header = checkHeader(file, 'ledger', this.fingerprint);
    if (!header.ok) {
      if (file.length >= HEADER_BYTES) {
        // Another key or another format: its counts cannot be read, so they restart at zero.
        const moved = `ledger-${this.now()}.quarantined`;
        await rename(path, join(this.quarantineDir, moved));
        await syncDirectory(this.quarantineDir);
        this.onSync('quarantine');
        this.noteError(
          'SPOOL_CORRUPT_RECORD',
          `the spool ledger was unreadable (${header.reason}); moved to quarantine as ${moved}, counters restart at zero`,
        );
      }
      const contents = [
        encodeHeader('ledger', this.fingerprint),
        sealFrame(
          this.key,
          this.ledgerAad,
          encodeLedgerEntry({
            t: 'base',
            droppedCount: 0,
            quarantinedCount: 0,
            quarantinedSegments: [],
          }),
        ),
      ];
      await writeFileAtomic(path, contents, () => this.onSync('ledger'));
      await syncDirectory(this.spoolDir);
      this.onSync('directory');
      this.ledger.handle = await open(path, 'r+');
      this.ledger.size = contents.reduce((sum, chunk) => sum + chunk.length, 0);
      this.ledger.compactAtBytes = LEDGER_COMPACT_MIN_BYTES;
      return;
    }

    let end = file.length;
    let damaged = 0;
    for (const item of scanFrames(file, HEADER_BYTES)) {
      if (item.type === 'damaged' && item.reachesEnd) {
        end = item.offset; // a torn final write: it was never acknowledged to anyone
        break;
      }
      const frame = file.subarray(item.offset, item.offset + item.length);
      const plaintext =
        item.type === 'frame' ? openFrame(this.key, this.ledgerAad, frame) : undefined;
      const entry = plaintext && decodeLedgerEntry(plaintext);
      if (entry) {
        applyLedgerEntry(this.ledger, entry);
      } else {
        damaged += 1;
        await this.quarantineBytes(`${LEDGER_NAME}@${item.offset}.bad`, frame);
      }
    }
    this.ledger.handle = await open(path, 'r+');
    if (end < file.length) {
      await this.ledger.handle.truncate(end);
      await this.ledger.handle.sync();
      this.onSync('ledger');
    }
    this.ledger.size = end;
    this.ledger.compactAtBytes = Math.max(LEDGER_COMPACT_MIN_BYTES, end * 2);
    if (damaged > 0) {
      // Lost acks only resend captures (the collector ignores duplicates); lost drop entries undercount.
      this.ledger.needsRewrite = true;
      this.noteError(
        'SPOOL_CORRUPT_RECORD',
        `${damaged} spool ledger entr${damaged === 1 ? 'y was' : 'ies were'} unreadable; moved to quarantine`,
      );
    }
  }

  private async loadSegment(
    name: string,
    isLast: boolean,
    found: Map<string, { record: LiveRecord; seq: number }>,
  ): Promise<void> {
    const path = join(this.spoolDir, name);
    const file = await readFile(path);
    const header = checkHeader(file, 'segment', this.fingerprint);
    if (!header.ok) {
      const intactFrames = [...scanFrames(file, HEADER_BYTES)].filter(
        (item) => item.type === 'frame',
      ).length;
      if (header.reason === 'short' || (isLast && intactFrames === 0)) {
        // Created at the crash and never completed its first write: it holds no record.
        await rm(path, { force: true });
        return;
      }
      await this.quarantineSegmentFile(name, file, header.reason, intactFrames);
      return;
    }

    const segment: Segment = {
      name,
      path,
      size: file.length,
      liveBytes: 0,
      liveCount: 0,
      copies: [],
      created: true,
      mustCompact: false,
    };
    let damaged = 0;
    for (const item of scanFrames(file, HEADER_BYTES)) {
      const bytes = file.subarray(item.offset, item.offset + item.length);
      if (item.type === 'damaged' && item.reachesEnd && isLast) {
        // A torn final write of the segment being written at the crash: nobody was told it
        // was stored, so it is not counted; the bytes are kept for whoever investigates.
        await this.quarantineBytes(`${name}@${item.offset}.torn`, bytes);
        const handle = await open(path, 'r+');
        try {
          await handle.truncate(item.offset);
          await handle.sync();
          this.onSync('segment');
        } finally {
          await handle.close();
        }
        segment.size = item.offset;
        break;
      }
      const plaintext =
        item.type === 'frame' ? openFrame(this.key, this.segmentAad, bytes) : undefined;
      const record = plaintext && decodeCaptureRecord(plaintext);
      if (!record) {
        damaged += 1;
        await this.quarantineBytes(`${name}@${item.offset}.bad`, bytes);
        continue;
      }
      const id = record.capture.id;
      const key = recordKey(id, record.seq);
      this.addCopy(segment, key);
      // A second copy of a live record: compaction was interrupted before deleting the old segment.
      if (this.ledger.tombstones.has(key) || found.has(id)) continue;
      found.set(id, {
        seq: record.seq,
        record: {
          id,
          seq: record.seq,
          key,
          severity: record.capture.severity,
          observedAtMs: Date.parse(record.capture.observedAt),
          observedAt: record.capture.observedAt,
          segment,
          offset: item.offset,
          length: item.length,
        },
      });
    }
    this.segments.set(name, segment);
    if (damaged > 0) {
      segment.mustCompact = true;
      if (!this.ledger.quarantinedSegments.has(name)) {
        this.unwrittenEntries.push({ t: 'quarantined', segment: name, keys: [], records: damaged });
      }
      this.noteError(
        'SPOOL_CORRUPT_RECORD',
        `${damaged} unreadable record(s) in spool segment ${name}; moved to quarantine, the rest kept`,
      );
    }
  }

  /** A whole segment we cannot read (another key, a damaged header): count its records, move it. */
  private async quarantineSegmentFile(
    name: string,
    file: Buffer,
    reason: string,
    intactFrames: number,
  ): Promise<void> {
    const records = intactFrames === 0 && file.length > HEADER_BYTES ? 1 : intactFrames;
    if (!this.ledger.quarantinedSegments.has(name)) {
      // Counted (fsynced) before it moves, and by name, so a crash in between never counts it twice.
      await this.writeLedger([{ t: 'quarantined', segment: name, keys: [], records }]);
    }
    await rename(join(this.spoolDir, name), join(this.quarantineDir, name));
    await syncDirectory(this.quarantineDir);
    await syncDirectory(this.spoolDir);
    this.onSync('quarantine');
    this.noteError(
      'SPOOL_CORRUPT_RECORD',
      reason === 'key'
        ? `spool segment ${name} was written with another key; ${records} record(s) moved to quarantine`
        : `spool segment ${name} is unreadable (${reason}); ${records} record(s) moved to quarantine`,
    );
  }

  /**
   * Keep `quarantine/` within a quarter of maxBytes, deleting its oldest files first. The
   * counts are in the ledger; the files are evidence for whoever investigates, kept as
   * long as the bound allows, so a damaged disk cannot fill up with them.
   */
  private async trimQuarantine(): Promise<void> {
    const cap = Math.floor(this.maxBytes / 4);
    const files = await Promise.all(
      (await readdir(this.quarantineDir)).map(async (name) => {
        const info = await stat(join(this.quarantineDir, name));
        return { name, size: info.size, mtimeMs: info.mtimeMs };
      }),
    );
    let total = files.reduce((sum, file) => sum + file.size, 0);
    if (total <= cap) return;
    files.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
    for (const file of files) {
      if (total <= cap) break;
      await rm(join(this.quarantineDir, file.name), { force: true, recursive: true });
      total -= file.size;
    }
    await syncDirectory(this.quarantineDir);
    this.onSync('quarantine');
  }

  private async quarantineBytes(name: string, bytes: Buffer): Promise<void> {
    const handle = await open(join(this.quarantineDir, name), 'w', 0o600);
    try {
      await writeChunks(handle, [bytes], 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDirectory(this.quarantineDir);
    this.onSync('quarantine');
  }

  // ── reading ──────────────────────────────────────────────────────────────────────

  private async readEntries(chosen: readonly LiveRecord[]): Promise<SpoolEntry[]> {
    const read = new Map<string, CaptureRecord>();
    const lost: LiveRecord[] = [];
    for (const [record, frame] of await this.readFrames(chosen)) {
      const intact = frameLengthAt(frame, 0) === record.length;
      const plaintext = intact ? openFrame(this.key, this.segmentAad, frame) : undefined;
      const decoded = plaintext && decodeCaptureRecord(plaintext);
      if (decoded && decoded.capture.id === record.id) {
        read.set(record.id, decoded);
      } else {
        await this.quarantineBytes(`${record.segment.name}@${record.offset}.bad`, frame);
        lost.push(record);
      }
    }
    if (lost.length > 0) {
      for (const record of lost) this.unindex(record);
      await this.writeLedger([
        {
          t: 'quarantined',
          segment: null,
          keys: lost.map((record) => record.key),
          records: lost.length,
        },
      ]);
      await this.trimQuarantine();
      this.noteError(
        'SPOOL_CORRUPT_RECORD',
        `${lost.length} spooled record(s) became unreadable; moved to quarantine`,
      );
    }
    const entries: SpoolEntry[] = [];
    for (const record of chosen) {
      const decoded = read.get(record.id);
      if (!decoded) continue;
      entries.push({
        id: record.id,
        capture: decoded.capture,
        screenshot: decoded.screenshot,
        spooledAt: new Date(decoded.spooledAtMs).toISOString(),
      });
    }
    return entries;
  }

  /** The frame bytes of each record, read segment by segment in file order. */
  private async readFrames(records: readonly LiveRecord[]): Promise<Map<LiveRecord, Buffer>> {
    const frames = new Map<LiveRecord, Buffer>();
    for (const [segment, inSegment] of groupBySegment(records)) {
      const handle = await open(segment.path, 'r');
      try {
        for (const record of inSegment) {
          frames.set(record, await readExactly(handle, record.offset, record.length));
        }
      } finally {
        await handle.close();
      }
    }
    return frames;
  }

  // ── misc ─────────────────────────────────────────────────────────────────────────

  private noteError(code: SpoolErrorCode, message: string): void {
    this.lastError = { code, message, at: new Date(this.now()).toISOString() };
  }

  private async closeHandles(): Promise<void> {
    const handles = [this.activeHandle, this.ledger.handle];
    this.activeHandle = undefined;
    this.active = undefined;
    this.ledger.handle = undefined;
    for (const handle of handles) await handle?.close();
  }
}

function emptyLedger(): Ledger {
  return {
    handle: undefined,
    size: 0,
    tombstones: new Set(),
    droppedCount: 0,
    quarantinedCount: 0,
    quarantinedSegments: new Set(),
    compactAtBytes: LEDGER_COMPACT_MIN_BYTES,
    needsRewrite: false,
  };
}

function applyLedgerEntry(ledger: Ledger, entry: LedgerEntry): void {
  switch (entry.t) {
    case 'base':
      ledger.droppedCount += entry.droppedCount;
      ledger.quarantinedCount += entry.quarantinedCount;
      for (const name of entry.quarantinedSegments) ledger.quarantinedSegments.add(name);
      return;
    case 'acked':
      for (const key of entry.keys) ledger.tombstones.add(key);
      return;
    case 'dropped':
      for (const key of entry.keys) ledger.tombstones.add(key);
      ledger.droppedCount += entry.keys.length + entry.refused;
      return;
    case 'quarantined':
      for (const key of entry.keys) ledger.tombstones.add(key);
      ledger.quarantinedCount += entry.records;
      if (entry.segment !== null) ledger.quarantinedSegments.add(entry.segment);
      return;
  }
}

function recordKey(id: string, seq: number): string {
  return `${id}@${seq}`;
}

function groupBySegment(records: readonly LiveRecord[]): Map<Segment, LiveRecord[]> {
  const groups = new Map<Segment, LiveRecord[]>();
  for (const record of records) {
    const group = groups.get(record.segment);
    if (group) group.push(record);
    else groups.set(record.segment, [record]);
  }
  for (const group of groups.values()) group.sort((a, b) => a.offset - b.offset);
  return groups;
}

function screenshotProblem(capture: Capture, bytes: Buffer | null): string | undefined {
  const ref = capture.screenshot;
  if (ref.status !== 'attached') {
    return bytes === null
      ? undefined
      : `capture ${capture.id} has no attached screenshot (${ref.reason}) but bytes were given: drop them or attach the screenshot`;
  }
  if (bytes === null) {
    return `capture ${capture.id} references screenshot ${ref.sha256} but no bytes were given: the spool must hold them until the collector has them`;
  }
  if (bytes.length !== ref.bytes) {
    return `capture ${capture.id} says its screenshot is ${ref.bytes} bytes, the bytes given are ${bytes.length}`;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== ref.sha256) {
    return `capture ${capture.id} references screenshot ${ref.sha256}, the bytes given hash to ${sha256}`;
  }
  return undefined;
}

function validateLimits(limits: SpoolLimits): void {
  if (!Number.isSafeInteger(limits.maxBytes) || limits.maxBytes <= 0) {
    throw new SpoolError(
      'SPOOL_OPTIONS_INVALID',
      `maxBytes must be a positive whole number of bytes, got ${limits.maxBytes}.`,
    );
  }
  if (!Number.isFinite(limits.maxAgeDays) || limits.maxAgeDays <= 0) {
    throw new SpoolError(
      'SPOOL_OPTIONS_INVALID',
      `maxAgeDays must be a positive number of days, got ${limits.maxAgeDays}.`,
    );
  }
}

function closedError(): SpoolError {
  return new SpoolError('SPOOL_CLOSED', 'The spool is closed: open it again to use it.');
}

function writeFailed(what: string, consequence: string, cause: unknown): SpoolError {
  if (cause instanceof SpoolError) return cause;
  return new SpoolError(
    'SPOOL_WRITE_FAILED',
    `The spool failed ${what} (${errnoCode(cause) ?? 'error'}): ${consequence}. Check free disk space and the disk's health; report this in the agent's health.`,
    { cause },
  );
}
