import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Capture } from '@lantern/protocol';
import { makeCapture, testUuidV7 } from '@lantern/protocol/testing';

import { HEADER_BYTES, scanFrames, SPOOL_DIR_NAME } from './spool-format.ts';
import type { SyncTarget } from './spool-io.ts';
import { Spool, type SpoolOptions } from './spool.ts';

const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
const START_MS = Date.UTC(2026, 10, 23, 10, 0, 0);
const PACKAGE_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

let dir: string;
let key: Buffer;
let clockMs: number;
const opened: Spool[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-spool-'));
  key = randomBytes(32);
  clockMs = START_MS;
});

afterEach(async () => {
  for (const spool of opened.splice(0)) await spool.close();
  await rm(dir, { recursive: true, force: true });
});

async function openSpool(overrides: Partial<SpoolOptions> = {}): Promise<Spool> {
  const spool = await Spool.open({
    dir,
    key,
    maxBytes: 64 * MiB,
    maxAgeDays: 30,
    now: () => clockMs,
    ...overrides,
  });
  opened.push(spool);
  return spool;
}

async function reopen(spool: Spool, overrides: Partial<SpoolOptions> = {}): Promise<Spool> {
  await spool.close();
  return openSpool(overrides);
}

/** A synthetic capture observed at the test clock's time (or `observedAtMs`). */
function capture(severity: number, observedAtMs = clockMs): Capture {
  return makeCapture({
    id: testUuidV7(observedAtMs),
    observedAt: new Date(observedAtMs).toISOString(),
    severity,
  });
}

/** A capture with an attached screenshot of `size` synthetic bytes, and those bytes. */
function captureWithScreenshot(severity: number, size: number): [Capture, Buffer] {
  const bytes = randomBytes(size);
  const base = capture(severity);
  return [
    {
      ...base,
      screenshot: {
        status: 'attached',
        sha256: createHash('sha256').update(bytes).digest('hex'),
        mediaType: 'image/webp',
        bytes: size,
        width: 800,
        height: 450,
        sensitive: false,
      },
    },
    bytes,
  ];
}

async function pendingIds(spool: Spool, limit = 100_000): Promise<string[]> {
  return (await spool.pending({ limit })).map((entry) => entry.id);
}

async function segmentFiles(): Promise<string[]> {
  return (await readdir(join(dir, SPOOL_DIR_NAME))).filter((name) => name.endsWith('.seg')).sort();
}

async function spoolDirBytes(): Promise<number> {
  let total = 0;
  for (const name of await readdir(join(dir, SPOOL_DIR_NAME))) {
    total += (await stat(join(dir, SPOOL_DIR_NAME, name))).size;
  }
  return total;
}

/** Offsets and lengths of the frames in a segment file. */
async function framesOf(path: string): Promise<{ offset: number; length: number }[]> {
  const file = await readFile(path);
  return [...scanFrames(file, HEADER_BYTES)].map(({ offset, length }) => ({ offset, length }));
}

async function flipByte(path: string, offset: number): Promise<void> {
  const file = await readFile(path);
  file.writeUInt8(file.readUInt8(offset) ^ 0xff, offset);
  await writeFile(path, file);
}

describe('Spool: append, pending, ack', () => {
  it('returns pending captures most severe first, oldest first within a severity, until acked', async () => {
    const spool = await openSpool();
    const mild = capture(2);
    const severe = capture(5);
    const milder = capture(2);
    const serious = capture(4);
    for (const item of [mild, severe, milder, serious]) {
      await expect(spool.append(item)).resolves.toBe('stored');
    }

    await expect(pendingIds(spool)).resolves.toEqual([severe.id, serious.id, mild.id, milder.id]);
    const [first] = await spool.pending({ limit: 1 });
    expect(first?.capture).toEqual(severe);
    await expect(pendingIds(spool, 2)).resolves.toEqual([severe.id, serious.id]);
    await expect(spool.pending({ limit: 10, skip: new Set([severe.id]) })).resolves.toHaveLength(3);

    await expect(spool.ack([severe.id, mild.id, 'not-a-pending-id'])).resolves.toBe(2);
    await expect(pendingIds(spool)).resolves.toEqual([serious.id, milder.id]);
    await expect(spool.ack([severe.id])).resolves.toBe(0);
    expect(spool.stats()).toMatchObject({
      depth: 2,
      oldestObservedAt: mild.observedAt,
      droppedCount: 0,
      quarantinedCount: 0,
      lastError: null,
    });
  });

  it('keeps a screenshot with its capture and returns the same bytes', async () => {
    const spool = await openSpool();
    const [withShot, bytes] = captureWithScreenshot(4, 150_000);
    await spool.append(withShot, bytes);
    const reopened = await reopen(spool);
    const [entry] = await reopened.pending({ limit: 1 });
    expect(entry?.screenshot?.equals(bytes)).toBe(true);
    expect(entry?.capture.screenshot).toEqual(withShot.screenshot);
  });

  it('refuses an invalid capture and screenshot bytes that do not match the capture', async () => {
    const spool = await openSpool();
    const [withShot, bytes] = captureWithScreenshot(3, 1000);
    await expect(spool.append(withShot)).rejects.toMatchObject({
      code: 'SPOOL_SCREENSHOT_MISMATCH',
    });
    await expect(spool.append(withShot, randomBytes(1000))).rejects.toMatchObject({
      code: 'SPOOL_SCREENSHOT_MISMATCH',
    });
    await expect(spool.append(capture(3), bytes)).rejects.toMatchObject({
      code: 'SPOOL_SCREENSHOT_MISMATCH',
    });
    await expect(spool.append({ ...capture(3), severity: 9 })).rejects.toMatchObject({
      code: 'SPOOL_RECORD_INVALID',
    });
    expect(spool.stats().depth).toBe(0);
  });

  it('sets aside a capture the collector refused for good, counted, with its record kept', async () => {
    const spool = await openSpool();
    const refused = capture(4);
    const fine = capture(3);
    await spool.append(refused);
    await spool.append(fine);

    await expect(spool.setAside(refused.id, 'CAPTURE_INVALID')).resolves.toBe(true);
    await expect(spool.setAside(refused.id, 'CAPTURE_INVALID')).resolves.toBe(false);
    await expect(pendingIds(spool)).resolves.toEqual([fine.id]);
    expect(spool.stats().quarantinedCount).toBe(1);
    expect(await readdir(join(dir, 'quarantine'))).toEqual([
      `${refused.id}.CAPTURE_INVALID.rejected`,
    ]);

    const reopened = await reopen(spool);
    await expect(pendingIds(reopened)).resolves.toEqual([fine.id]);
    expect(reopened.stats().quarantinedCount).toBe(1);
  });

  it('stores a capture once when it is appended twice', async () => {
    const spool = await openSpool();
    const item = capture(3);
    const outcomes = await Promise.all([spool.append(item), spool.append(item)]);
    expect(outcomes).toEqual(['stored', 'already_pending']);
    await expect(spool.append(item)).resolves.toBe('already_pending');
    await expect(pendingIds(spool)).resolves.toEqual([item.id]);
  });

  it('replays unacknowledged captures after a reopen, and not the acknowledged ones', async () => {
    const spool = await openSpool();
    const items = [capture(3), capture(5), capture(1)];
    for (const item of items) await spool.append(item);
    await spool.ack([items[0]!.id]);

    const reopened = await reopen(spool);
    const entries = await reopened.pending({ limit: 10 });
    expect(entries.map((entry) => entry.capture)).toEqual([items[1], items[2]]);
    expect(entries[0]?.spooledAt).toBe(new Date(START_MS).toISOString());
    await reopened.append(capture(2));
    const again = await reopen(reopened);
    expect(again.stats().depth).toBe(3);
  });

  it('rejects an append it could not write, and stores the next one once the disk is back', async () => {
    const spool = await openSpool({ maxBytes: MiB }); // segments of 64 KiB
    const [first, bytes] = captureWithScreenshot(3, 70_000); // fills its segment
    await spool.append(first, bytes);
    const folder = join(dir, SPOOL_DIR_NAME);
    await rename(folder, `${folder}.away`); // the next segment cannot be created
    const lost = capture(4);
    await expect(spool.append(lost)).rejects.toMatchObject({ code: 'SPOOL_WRITE_FAILED' });
    expect(spool.stats().lastError?.code).toBe('SPOOL_WRITE_FAILED');
    await rename(`${folder}.away`, folder);

    const next = capture(2);
    await expect(spool.append(next)).resolves.toBe('stored');
    await expect(pendingIds(spool)).resolves.toEqual([first.id, next.id]);
    const reopened = await reopen(spool);
    await expect(pendingIds(reopened)).resolves.toEqual([first.id, next.id]);
    expect(reopened.stats().quarantinedCount).toBe(0);
  });

  it('rejects calls after close, and a second open of the same folder', async () => {
    const spool = await openSpool();
    await expect(Spool.open({ dir, key, maxBytes: MiB, maxAgeDays: 1 })).rejects.toMatchObject({
      code: 'SPOOL_LOCKED',
    });
    await Promise.all([spool.close(), spool.close()]);
    await expect(spool.append(capture(3))).rejects.toMatchObject({ code: 'SPOOL_CLOSED' });
    await expect(spool.pending({ limit: 1 })).rejects.toMatchObject({ code: 'SPOOL_CLOSED' });
  });

  it('commits appends made at once together with far fewer fsyncs than one each', async () => {
    const syncs: SyncTarget[] = [];
    const spool = await openSpool({ onSync: (target) => syncs.push(target) });
    syncs.length = 0;

    const outcomes = await Promise.all(
      Array.from({ length: 1000 }, (_, index) => spool.append(capture(1 + (index % 5)))),
    );
    expect(outcomes.every((outcome) => outcome === 'stored')).toBe(true);
    // One segment fsync, plus one directory fsync because the batch created the segment.
    expect(syncs).toEqual(['segment', 'directory']);

    syncs.length = 0;
    for (let index = 0; index < 200; index++) await spool.append(capture(3));
    expect(syncs.filter((target) => target === 'segment')).toHaveLength(200);
    expect(spool.stats().depth).toBe(1200);
  });
});

describe('Spool: reclaiming space', () => {
  it('deletes a segment once every record in it is acknowledged', async () => {
    const spool = await openSpool();
    const items = Array.from({ length: 20 }, () => capture(3));
    await Promise.all(items.map((item) => spool.append(item)));
    expect(await segmentFiles()).toHaveLength(1);

    await spool.ack(items.map((item) => item.id));
    expect(await segmentFiles()).toEqual([]);
    expect(spool.stats().bytes).toBe(await spoolDirBytes());
    const reopened = await reopen(spool);
    expect(reopened.stats().depth).toBe(0);
  });

  it('rewrites a mostly acknowledged segment so its space is freed, keeping the live record', async () => {
    const spool = await openSpool({ maxBytes: MiB }); // segments of 64 KiB
    const batch = Array.from({ length: 12 }, () => captureWithScreenshot(3, 20_000));
    await Promise.all(batch.map(([item, bytes]) => spool.append(item, bytes)));
    const [first] = await segmentFiles();
    const before = spool.stats().bytes;

    const keep = batch[5]![0];
    await spool.ack(batch.map(([item]) => item.id).filter((id) => id !== keep.id));
    expect(await segmentFiles()).not.toContain(first);
    expect(spool.stats().bytes).toBeLessThan(before / 4);
    expect(spool.stats().bytes).toBe(await spoolDirBytes());

    const reopened = await reopen(spool);
    const [entry] = await reopened.pending({ limit: 10 });
    expect(entry?.capture).toEqual(keep);
    expect(entry?.screenshot?.equals(batch[5]![1])).toBe(true);
  });
  it('rewrites the ledger once most of its entries are stale, keeping the counts', async () => {
    const spool = await openSpool({ maxAgeDays: 7 });
    await spool.append(capture(3, START_MS - 8 * DAY_MS)); // dropped and counted
    for (let round = 0; round < 10; round++) {
      const items = Array.from({ length: 200 }, () => capture(2));
      await Promise.all(items.map((item) => spool.append(item)));
      await Promise.all(items.map((item) => spool.ack([item.id])));
    }
    const kept = capture(5);
    await spool.append(kept);
    // 2,000 acks are ~100 KiB of ledger; after the rewrite only the base entry is left.
    expect((await stat(join(dir, SPOOL_DIR_NAME, 'ledger'))).size).toBeLessThan(64 * 1024);
    expect(spool.stats().droppedCount).toBe(1);

    const reopened = await reopen(spool, { maxAgeDays: 7 });
    expect(reopened.stats().droppedCount).toBe(1);
    await expect(pendingIds(reopened)).resolves.toEqual([kept.id]);
  });
});

describe('Spool: bounds', () => {
  it('evicts the least severe captures when full, drops a newcomer milder than all, and counts both across restarts', async () => {
    const spool = await openSpool({ maxBytes: MiB });
    // Four of these fit in 1 MiB, less the ledger's headroom and one segment of slack; five do not.
    const shot = (severity: number) => captureWithScreenshot(severity, 200 * 1024);
    const [a1, a1Bytes] = shot(1);
    const [b2, b2Bytes] = shot(2);
    const [c3, c3Bytes] = shot(3);
    const [d3, d3Bytes] = shot(3);
    for (const [item, bytes] of [
      [a1, a1Bytes],
      [b2, b2Bytes],
      [c3, c3Bytes],
      [d3, d3Bytes],
    ] as const) {
      await expect(spool.append(item, bytes)).resolves.toBe('stored');
    }

    const [e5, e5Bytes] = shot(5);
    await expect(spool.append(e5, e5Bytes)).resolves.toBe('stored');
    await expect(pendingIds(spool)).resolves.toEqual([e5.id, c3.id, d3.id, b2.id]);
    expect(spool.stats().droppedCount).toBe(1);

    const [f1, f1Bytes] = shot(1);
    await expect(spool.append(f1, f1Bytes)).resolves.toBe('dropped_spool_full');
    expect(spool.stats().droppedCount).toBe(2);

    const [g2, g2Bytes] = shot(2);
    await expect(spool.append(g2, g2Bytes)).resolves.toBe('stored');
    await expect(pendingIds(spool)).resolves.toEqual([e5.id, c3.id, d3.id, g2.id]);
    expect(spool.stats().droppedCount).toBe(3);
    expect(spool.stats().bytes).toBeLessThanOrEqual(MiB);
    expect(await spoolDirBytes()).toBeLessThanOrEqual(MiB);

    const reopened = await reopen(spool, { maxBytes: MiB });
    expect(reopened.stats().droppedCount).toBe(3);
    await expect(pendingIds(reopened)).resolves.toEqual([e5.id, c3.id, d3.id, g2.id]);
  });

  it('never refuses a severe capture because many small mild ones fill the spool', async () => {
    const spool = await openSpool({ maxBytes: MiB });
    const mild = Array.from({ length: 2000 }, () => capture(1)); // ~1.5 MB
    const outcomes = await Promise.all(mild.map((item) => spool.append(item)));
    const dropped = outcomes.filter((outcome) => outcome === 'dropped_spool_full').length;
    expect(dropped).toBeGreaterThan(0);
    expect(spool.stats().droppedCount).toBe(dropped);

    const [severe, bytes] = captureWithScreenshot(5, 300 * 1024);
    await expect(spool.append(severe, bytes)).resolves.toBe('stored');
    const [first] = await spool.pending({ limit: 1 });
    expect(first?.id).toBe(severe.id);
    expect(await spoolDirBytes()).toBeLessThanOrEqual(MiB);
    const stats = spool.stats();
    expect(stats.droppedCount).toBe(2000 - (stats.depth - 1));
  });

  it('evicts down to a smaller maxBytes when the policy changes', async () => {
    const spool = await openSpool({ maxBytes: 4 * MiB });
    const items = [2, 5, 1, 4, 3].map((severity) => captureWithScreenshot(severity, 400 * 1024));
    for (const [item, bytes] of items) await spool.append(item, bytes);

    await spool.setLimits({ maxBytes: MiB, maxAgeDays: 30 });
    await expect(pendingIds(spool)).resolves.toEqual([items[1]![0].id, items[3]![0].id]);
    expect(spool.stats().droppedCount).toBe(3);
    expect(await spoolDirBytes()).toBeLessThanOrEqual(MiB);
  });

  it('drops and counts captures older than maxAgeDays', async () => {
    const spool = await openSpool({ maxAgeDays: 7 });
    const old = capture(5, START_MS - 6 * DAY_MS);
    const recent = capture(3, START_MS);
    await spool.append(old);
    await spool.append(recent);
    await expect(spool.append(capture(4, START_MS - 8 * DAY_MS))).resolves.toBe('dropped_expired');
    expect(spool.stats().droppedCount).toBe(1);

    clockMs = START_MS + 2 * DAY_MS;
    await expect(pendingIds(spool)).resolves.toEqual([recent.id]);
    expect(spool.stats()).toMatchObject({ droppedCount: 2, oldestObservedAt: recent.observedAt });

    const reopened = await reopen(spool, { maxAgeDays: 7 });
    expect(reopened.stats().droppedCount).toBe(2);
    await reopened.setLimits({ maxBytes: 64 * MiB, maxAgeDays: 1 });
    await expect(pendingIds(reopened)).resolves.toEqual([]);
    expect(reopened.stats().droppedCount).toBe(3);

    clockMs = START_MS + 100 * DAY_MS;
    const later = await reopen(reopened, { maxAgeDays: 1 });
    expect(later.stats().droppedCount).toBe(3);
  });
});

describe('Spool: recovery', () => {
  it('truncates a torn final write and keeps every record before it', async () => {
    const spool = await openSpool();
    const items = Array.from({ length: 5 }, () => capture(3));
    for (const item of items) await spool.append(item);
    await spool.close();
    const [segment] = await segmentFiles();
    const path = join(dir, SPOOL_DIR_NAME, segment!);
    await truncate(path, (await stat(path)).size - 3);

    const reopened = await openSpool();
    await expect(pendingIds(reopened)).resolves.toEqual(items.slice(0, 4).map((item) => item.id));
    expect(reopened.stats().quarantinedCount).toBe(0);
    const [torn] = await readdir(join(dir, 'quarantine'));
    expect(torn).toMatch(/\.torn$/);
    await reopened.append(items[4]!);
    const again = await reopen(reopened);
    expect(again.stats().depth).toBe(5);
  });

  it('quarantines a damaged record in the middle of a segment and keeps the others', async () => {
    const spool = await openSpool();
    const items = Array.from({ length: 5 }, () => capture(3));
    for (const item of items) await spool.append(item);
    await spool.close();
    const [segment] = await segmentFiles();
    const path = join(dir, SPOOL_DIR_NAME, segment!);
    const frames = await framesOf(path);
    await flipByte(path, frames[2]!.offset + 40); // inside the ciphertext of the third record

    const reopened = await openSpool();
    const expected = items.filter((_, index) => index !== 2).map((item) => item.id);
    await expect(pendingIds(reopened)).resolves.toEqual(expected);
    expect(reopened.stats()).toMatchObject({
      quarantinedCount: 1,
      lastError: { code: 'SPOOL_CORRUPT_RECORD' },
    });
    expect(await readdir(join(dir, 'quarantine'))).toEqual([`${segment}@${frames[2]!.offset}.bad`]);
    expect(await segmentFiles()).not.toContain(segment); // rewritten without the damage

    const again = await reopen(reopened);
    await expect(pendingIds(again)).resolves.toEqual(expected);
    expect(again.stats().quarantinedCount).toBe(1);
  });

  it('finds the next record again when a length field is damaged', async () => {
    const spool = await openSpool();
    const items = Array.from({ length: 5 }, () => capture(2));
    for (const item of items) await spool.append(item);
    await spool.close();
    const [segment] = await segmentFiles();
    const path = join(dir, SPOOL_DIR_NAME, segment!);
    const frames = await framesOf(path);
    await flipByte(path, frames[1]!.offset + 5); // the record's length

    const reopened = await openSpool();
    await expect(pendingIds(reopened)).resolves.toEqual(
      items.filter((_, index) => index !== 1).map((item) => item.id),
    );
    expect(reopened.stats().quarantinedCount).toBe(1);
  });

  it('quarantines segments written with another key instead of failing', async () => {
    const spool = await openSpool();
    for (let index = 0; index < 3; index++) await spool.append(capture(4));
    await spool.close();
    const [segment] = await segmentFiles();

    key = randomBytes(32);
    const reopened = await openSpool();
    await expect(pendingIds(reopened)).resolves.toEqual([]);
    expect(reopened.stats()).toMatchObject({
      depth: 0,
      quarantinedCount: 3,
      lastError: { code: 'SPOOL_CORRUPT_RECORD' },
    });
    expect(await readdir(join(dir, 'quarantine'))).toContain(segment);
    const item = capture(5);
    await reopened.append(item);

    const again = await reopen(reopened);
    await expect(pendingIds(again)).resolves.toEqual([item.id]);
    expect(again.stats().quarantinedCount).toBe(3);
  });

  it('quarantines a segment whose header is damaged and keeps the other segments', async () => {
    const spool = await openSpool();
    const older = [capture(3), capture(3)];
    for (const item of older) await spool.append(item);
    const reopened = await reopen(spool); // writes go to a new segment after every open
    const newer = [capture(2), capture(2)];
    for (const item of newer) await reopened.append(item);
    await reopened.close();
    const [first, second] = await segmentFiles();
    await flipByte(join(dir, SPOOL_DIR_NAME, first!), 3);

    const again = await openSpool();
    await expect(pendingIds(again)).resolves.toEqual(newer.map((item) => item.id));
    expect(again.stats().quarantinedCount).toBe(2);
    expect(await segmentFiles()).toEqual([second]);
    expect(await readdir(join(dir, 'quarantine'))).toEqual([first]);
  });

  it('keeps one copy of each record when a compaction was cut short after copying', async () => {
    const spool = await openSpool();
    const items = [capture(4), capture(3), capture(2)];
    for (const item of items) await spool.append(item);
    await spool.close();
    const [segment] = await segmentFiles();
    // What a crash between writing the copies and deleting the old segment leaves behind.
    await writeFile(
      join(dir, SPOOL_DIR_NAME, '000000000099-0badc0de.seg'),
      await readFile(join(dir, SPOOL_DIR_NAME, segment!)),
    );

    const reopened = await openSpool();
    await expect(pendingIds(reopened)).resolves.toEqual(items.map((item) => item.id));
    expect(await segmentFiles()).toEqual([segment]); // the copy with nothing live is gone
    await reopened.ack(items.map((item) => item.id));
    const again = await reopen(reopened);
    await expect(pendingIds(again)).resolves.toEqual([]);
  });

  it('resends captures whose ack entry was damaged, rather than losing anything', async () => {
    const spool = await openSpool();
    const items = [capture(3), capture(3), capture(3)];
    for (const item of items) await spool.append(item);
    await spool.ack([items[0]!.id]);
    await spool.ack([items[1]!.id]);
    await spool.close();
    const ledger = join(dir, SPOOL_DIR_NAME, 'ledger');
    const frames = await framesOf(ledger);
    await flipByte(ledger, frames.at(-2)!.offset + 30); // the first ack entry

    const reopened = await openSpool();
    await expect(pendingIds(reopened)).resolves.toEqual([items[0]!.id, items[2]!.id]);
    expect(reopened.stats().lastError?.code).toBe('SPOOL_CORRUPT_RECORD');
  });

  it(
    'keeps every append that resolved before a SIGKILL, exactly once, over two crashes',
    { timeout: 60_000 },
    async () => {
      const stored = new Set<string>();
      const acking = new Set<string>(); // an ack cut short by the kill may or may not have landed
      const acked = new Set<string>();
      for (let round = 0; round < 2; round++) {
        const output = await runCrashWriter(300 * (round + 1), stored);
        const lines = output.split('\n');
        lines.pop(); // whatever follows the last newline is a line the kill cut short
        for (const line of lines) {
          const [verb, id] = line.split(' ');
          if (verb === 'stored' && id) stored.add(id);
          if (verb === 'acking' && id) acking.add(id);
          if (verb === 'acked' && id) acked.add(id);
        }
      }
      expect(acked.size).toBeGreaterThan(0);

      const spool = await openSpool({ maxBytes: 16 * MiB, now: Date.now });
      const entries = await spool.pending({ limit: 100_000 });
      const ids = entries.map((entry) => entry.id);
      expect(new Set(ids).size).toBe(ids.length);
      const pendingSet = new Set(ids);
      const missing = [...stored].filter((id) => !acking.has(id) && !pendingSet.has(id));
      expect(missing).toEqual([]);
      expect(ids.filter((id) => acked.has(id))).toEqual([]);
      expect(spool.stats()).toMatchObject({ quarantinedCount: 0, droppedCount: 0 });
      for (const entry of entries) {
        if (entry.capture.screenshot.status === 'attached') {
          expect(createHash('sha256').update(entry.screenshot!).digest('hex')).toBe(
            entry.capture.screenshot.sha256,
          );
        }
      }
    },
  );
});

/**
 * Run test-helpers/spool-crash-writer.child.ts on the test's spool until it has reported `storedTarget`
 * stored captures in all (counting `already` from earlier rounds), then SIGKILL it.
 */
async function runCrashWriter(storedTarget: number, already: ReadonlySet<string>) {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@lantern/source',
      '--import',
      'tsx',
      join('src', 'test-helpers', 'spool-crash-writer.child.ts'),
      dir,
      key.toString('hex'),
    ],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let errors = '';
  const closed = once(child, 'close'); // after 'exit' and the last of its output
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString('utf8');
  });
  await new Promise<void>((resolvePromise, reject) => {
    let stored = already.size;
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      stored += text.split('\n').filter((line) => line.startsWith('stored ')).length;
      if (stored >= storedTarget) resolvePromise();
    });
    child.once('exit', (code) =>
      reject(new Error(`the crash writer exited (${code}) before it was killed:\n${errors}`)),
    );
  });
  child.kill('SIGKILL');
  const [, signal] = (await closed) as [number | null, NodeJS.Signals | null];
  expect(signal).toBe('SIGKILL');
  return output;
}
