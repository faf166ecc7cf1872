/**
 * The spool's on-disk format, version 1: file headers, record frames, encryption and the
 * recovery scan. Pure functions over buffers; `spool.ts` owns the files.
 *
 * Every spool file (segment or ledger) starts with a 32-byte header:
 *
 *     0  8  magic "LNTNSPOL"
 *     8  2  format version, u16 BE (1)
 *    10  1  file kind: 1 segment (captures), 2 ledger (acks, drops, counters)
 *    11  1  reserved, 0
 *    12  8  key fingerprint: HMAC-SHA256(key, "lantern spool key v1")[0..8]
 *    20  8  reserved, 0
 *    28  4  CRC-32 of bytes 0..28, u32 BE
 *
 * followed by frames, each
 *
 *     0  4  frame magic "LREC" (lets the recovery scan find the next frame after damage)
 *     4  4  body length N, u32 BE
 *     8  4  CRC-32 of bytes 4..8 and the body, u32 BE
 *    12  N  body: 12-byte random nonce | AES-256-GCM ciphertext | 16-byte tag
 *
 * The GCM tag authenticates (AAD = header bytes 0..12, so a ledger entry cannot pass as a
 * capture, nor a v1 record as another version); the CRC stays because it is checked
 * without the key and without decrypting: it finds a torn tail or a damaged frame, and
 * tells "damaged bytes" (resync and quarantine) from "intact frame, other key" (the
 * fingerprint, or the tag, says which). A CRC covering the length field means a damaged
 * length is caught instead of swallowing the frames after it.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

import { z } from 'zod';

import { CaptureSchema, type Capture } from '@lantern/protocol';

/** Bump when the format changes; the directory name (`spool.v1`) carries it too. */
export const SPOOL_FORMAT_VERSION = 1;
export const SPOOL_DIR_NAME = `spool.v${SPOOL_FORMAT_VERSION}`;

const FILE_MAGIC = Buffer.from('LNTNSPOL', 'ascii');
export const HEADER_BYTES = 32;
const AAD_BYTES = 12;

export const FILE_KIND = { segment: 1, ledger: 2 } as const;
export type FileKind = keyof typeof FILE_KIND;

const FRAME_MAGIC = Buffer.from('LREC', 'ascii');
export const FRAME_HEADER_BYTES = 12;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MIN_BODY_BYTES = NONCE_BYTES + TAG_BYTES + 1;
/** Far above any real record (a screenshot is at most 512 KiB): a larger length is damage. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export const KEY_BYTES = 32;

/** Eight bytes that tell whether a file was written with this key, without revealing it. */
export function keyFingerprint(key: Buffer): Buffer {
  return createHmac('sha256', key).update('lantern spool key v1').digest().subarray(0, 8);
}

export function encodeHeader(kind: FileKind, fingerprint: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  FILE_MAGIC.copy(header, 0);
  header.writeUInt16BE(SPOOL_FORMAT_VERSION, 8);
  header.writeUInt8(FILE_KIND[kind], 10);
  fingerprint.copy(header, 12);
  header.writeUInt32BE(crc32(header.subarray(0, 28)), 28);
  return header;
}

/** The additional authenticated data of every record in a file of this kind. */
export function recordAad(kind: FileKind): Buffer {
  return encodeHeader(kind, Buffer.alloc(8)).subarray(0, AAD_BYTES);
}

export type HeaderCheck =
  { ok: true } | { ok: false; reason: 'short' | 'magic' | 'checksum' | 'version' | 'kind' | 'key' };

/** Whether `file` starts with a valid header of `kind`, written with the key of `fingerprint`. */
export function checkHeader(file: Buffer, kind: FileKind, fingerprint: Buffer): HeaderCheck {
  if (file.length < HEADER_BYTES) return { ok: false, reason: 'short' };
  if (!file.subarray(0, 8).equals(FILE_MAGIC)) return { ok: false, reason: 'magic' };
  if (file.readUInt32BE(28) !== crc32(file.subarray(0, 28))) {
    return { ok: false, reason: 'checksum' };
  }
  if (file.readUInt16BE(8) !== SPOOL_FORMAT_VERSION) return { ok: false, reason: 'version' };
  if (file.readUInt8(10) !== FILE_KIND[kind]) return { ok: false, reason: 'kind' };
  if (!file.subarray(12, 20).equals(fingerprint)) return { ok: false, reason: 'key' };
  return { ok: true };
}

/** Encrypt `plaintext` and frame it. */
export function sealFrame(key: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const bodyLength = NONCE_BYTES + ciphertext.length + TAG_BYTES;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyLength);
  FRAME_MAGIC.copy(frame, 0);
  frame.writeUInt32BE(bodyLength, 4);
  nonce.copy(frame, FRAME_HEADER_BYTES);
  ciphertext.copy(frame, FRAME_HEADER_BYTES + NONCE_BYTES);
  cipher.getAuthTag().copy(frame, FRAME_HEADER_BYTES + NONCE_BYTES + ciphertext.length);
  frame.writeUInt32BE(frameChecksum(frame, 0, bodyLength), 8);
  return frame;
}

/** The plaintext of a frame whose CRC is valid, or undefined when the tag does not verify. */
export function openFrame(key: Buffer, aad: Buffer, frame: Buffer): Buffer | undefined {
  const body = frame.subarray(FRAME_HEADER_BYTES);
  const nonce = body.subarray(0, NONCE_BYTES);
  const tag = body.subarray(body.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([
      decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    // final() throws only when the tag does not verify: wrong key or altered bytes.
    return undefined;
  }
}

function frameChecksum(file: Buffer, offset: number, bodyLength: number): number {
  const lengthField = file.subarray(offset + 4, offset + 8);
  const body = file.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + bodyLength);
  return crc32(body, crc32(lengthField));
}

/** The length of the intact frame at `offset`, or undefined if there is none. */
export function frameLengthAt(file: Buffer, offset: number): number | undefined {
  if (offset + FRAME_HEADER_BYTES > file.length) return undefined;
  if (file.compare(FRAME_MAGIC, 0, 4, offset, offset + 4) !== 0) return undefined;
  const bodyLength = file.readUInt32BE(offset + 4);
  if (bodyLength < MIN_BODY_BYTES || bodyLength > MAX_BODY_BYTES) return undefined;
  if (offset + FRAME_HEADER_BYTES + bodyLength > file.length) return undefined;
  if (file.readUInt32BE(offset + 8) !== frameChecksum(file, offset, bodyLength)) return undefined;
  return FRAME_HEADER_BYTES + bodyLength;
}

/** One step of the recovery scan: an intact frame, or a run of damaged bytes. */
export type ScanItem =
  | { type: 'frame'; offset: number; length: number }
  | { type: 'damaged'; offset: number; length: number; reachesEnd: boolean };

/**
 * Walk the frames of `file` from `start`. Damage does not stop the walk: the scan looks for
 * the next frame magic whose frame is intact (CRC) and goes on from there, so one bad
 * record costs that record, not the rest of the file. `reachesEnd` marks damage that runs
 * to the end of the file: a torn write, when the file is the one being written at a crash.
 */
export function* scanFrames(file: Buffer, start: number): Generator<ScanItem> {
  let offset = start;
  while (offset < file.length) {
    const length = frameLengthAt(file, offset);
    if (length !== undefined) {
      yield { type: 'frame', offset, length };
      offset += length;
      continue;
    }
    const next = findNextFrame(file, offset + 1);
    const end = next ?? file.length;
    yield { type: 'damaged', offset, length: end - offset, reachesEnd: next === undefined };
    offset = end;
  }
}

function findNextFrame(file: Buffer, from: number): number | undefined {
  let at = file.indexOf(FRAME_MAGIC, from);
  while (at !== -1) {
    if (frameLengthAt(file, at) !== undefined) return at;
    at = file.indexOf(FRAME_MAGIC, at + 1);
  }
  return undefined;
}

// ── record payloads ──────────────────────────────────────────────────────────────────

const PAYLOAD_CAPTURE = 1;
const PAYLOAD_LEDGER = 2;

const CaptureRecordMetaSchema = z.strictObject({
  /** Append order, for "oldest first" within a severity; survives compaction. */
  seq: z.int().min(0),
  /** When the spool stored the record, in ms since the epoch. */
  spooledAtMs: z.int().min(0),
  capture: CaptureSchema,
  /** Length of the screenshot bytes after the metadata; 0 when there are none. */
  screenshotBytes: z.int().min(0),
});
export type CaptureRecordMeta = z.infer<typeof CaptureRecordMetaSchema>;

/** A capture and its screenshot bytes, as stored in a segment. */
export interface CaptureRecord {
  readonly seq: number;
  readonly spooledAtMs: number;
  readonly capture: Capture;
  readonly screenshot: Buffer | null;
}

/** Plaintext: kind byte, u32 BE metadata length, metadata JSON, then the raw screenshot bytes (not base64). */
export function encodeCaptureRecord(record: CaptureRecord): Buffer {
  const meta = Buffer.from(
    JSON.stringify({
      seq: record.seq,
      spooledAtMs: record.spooledAtMs,
      capture: record.capture,
      screenshotBytes: record.screenshot?.length ?? 0,
    } satisfies CaptureRecordMeta),
    'utf8',
  );
  const prefix = Buffer.allocUnsafe(5);
  prefix.writeUInt8(PAYLOAD_CAPTURE, 0);
  prefix.writeUInt32BE(meta.length, 1);
  return Buffer.concat([prefix, meta, record.screenshot ?? Buffer.alloc(0)]);
}

/** Parse a decrypted capture record with zod; undefined when it is not one. */
export function decodeCaptureRecord(plaintext: Buffer): CaptureRecord | undefined {
  if (plaintext.length < 5 || plaintext.readUInt8(0) !== PAYLOAD_CAPTURE) return undefined;
  const metaLength = plaintext.readUInt32BE(1);
  if (5 + metaLength > plaintext.length) return undefined;
  const meta = CaptureRecordMetaSchema.safeParse(parseJson(plaintext.subarray(5, 5 + metaLength)));
  if (!meta.success) return undefined;
  const screenshot = plaintext.subarray(5 + metaLength);
  if (screenshot.length !== meta.data.screenshotBytes) return undefined;
  return {
    seq: meta.data.seq,
    spooledAtMs: meta.data.spooledAtMs,
    capture: meta.data.capture,
    screenshot: screenshot.length === 0 ? null : Buffer.from(screenshot),
  };
}

/**
 * What the ledger records. Tombstones name a record, not a place, so they kill every copy
 * of it (compaction may briefly leave two); counters are folded into `base` when the
 * ledger is rewritten, so the rewrite (an atomic rename) never loses or doubles a count.
 */
export const LedgerEntrySchema = z.discriminatedUnion('t', [
  z.strictObject({
    t: z.literal('base'),
    droppedCount: z.int().min(0),
    quarantinedCount: z.int().min(0),
    /** Segments already counted in quarantinedCount but maybe not yet moved away. */
    quarantinedSegments: z.array(z.string()),
  }),
  /** Tombstones name records as `captureId@seq`: the same id appended again later is a new record. */
  z.strictObject({ t: z.literal('acked'), keys: z.array(z.string()) }),
  z.strictObject({
    t: z.literal('dropped'),
    reason: z.enum(['spool_full', 'expired']),
    /** Stored records dropped: tombstones. */
    keys: z.array(z.string()),
    /** Captures refused at append, never written: counted only. */
    refused: z.int().min(0),
  }),
  z.strictObject({
    t: z.literal('quarantined'),
    /** The segment whose damage this counts, so a crash before it is moved does not count it twice. */
    segment: z.string().nullable(),
    /** Indexed records that turned unreadable after open: tombstones. */
    keys: z.array(z.string()),
    records: z.int().min(0),
  }),
]);
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

export function encodeLedgerEntry(entry: LedgerEntry): Buffer {
  return Buffer.concat([Buffer.of(PAYLOAD_LEDGER), Buffer.from(JSON.stringify(entry), 'utf8')]);
}

export function decodeLedgerEntry(plaintext: Buffer): LedgerEntry | undefined {
  if (plaintext.length < 1 || plaintext.readUInt8(0) !== PAYLOAD_LEDGER) return undefined;
  const parsed = LedgerEntrySchema.safeParse(parseJson(plaintext.subarray(1)));
  return parsed.success ? parsed.data : undefined;
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    // Not JSON: the caller treats undefined as an unreadable record and quarantines it.
    return undefined;
  }
}
