import { z } from 'zod';

import { CaptureSchema, ScreenshotMediaTypeSchema, type Capture } from './capture.ts';
import { DateTimeSchema, Sha256Schema, UuidSchema, UuidV7Schema, VersionSchema } from './common.ts';
import { WireErrorCodeSchema } from './enrol.ts';
import type { WireErrorCode } from './errors.ts';
import {
  ERROR_MESSAGE_MAX_CHARS,
  MAX_CAPTURE_BATCH,
  MAX_FRAME_BYTES,
  MAX_SCREENSHOT_BYTES,
  MAX_SCREENSHOT_EDGE_PX,
  PROTOCOL_VERSION,
} from './limits.ts';
import { PolicySchema } from './policy.ts';

/**
 * The agent's WebSocket endpoint. The device authenticates on the upgrade request with
 * `Authorization: Bearer <device credential>`; its first frame must be `hello`.
 */
export const AGENT_WS_PATH = '/v1/agent';

/**
 * WebSocket close codes the collector uses. 4000–4999 are for applications; ours mirror
 * the HTTP status they resemble (4401 ~ 401) so they read at a glance in a log.
 */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  /** The frame exceeded MAX_FRAME_BYTES at the WebSocket layer. */
  messageTooBig: 1009,
  /** Missing or wrong device credential: re-enrol the device. */
  authRejected: 4401,
  /** A technician revoked this device: do not reconnect until re-enrolled. */
  deviceRevoked: 4403,
  /** No `hello` arrived in time after the upgrade. */
  helloTimeout: 4408,
  /** Another connection for the same device replaced this one. */
  replaced: 4409,
  /** No protocol version in common: update the agent. */
  protocolUnsupported: 4426,
  /** Too many frames: reconnect after backing off. */
  rateLimited: 4429,
} as const;

const VersionLiteral = z.literal(PROTOCOL_VERSION);

/** Base64 text long enough for MAX_SCREENSHOT_BYTES, and no longer. */
const SCREENSHOT_BASE64_MAX_CHARS = 4 * Math.ceil(MAX_SCREENSHOT_BYTES / 3);

// ── agent → collector ────────────────────────────────────────────────────────────────
// Strict objects: an unknown field from a device is an error the technician should see,
// not data silently dropped. The collector is upgraded before agents, so it knows every
// field an agent of its protocol version may send.

/**
 * The first frame on every connection. Its shape never changes between protocol versions
 * (unknown fields are ignored), so any collector can read any agent's hello and answer
 * with a version both speak, or with PROTOCOL_UNSUPPORTED.
 */
export const HelloFrameSchema = z.object({
  type: z.literal('hello'),
  v: z.int().positive(),
  deviceId: UuidSchema,
  agentVersion: VersionSchema,
  /** Every protocol version this agent speaks. */
  protocolVersions: z.array(z.int().positive()).min(1).max(16),
  /** The policy the device holds, or null before its first; a different one makes the collector send `policy`. */
  policyVersion: VersionSchema.nullable(),
});
export type HelloFrame = z.infer<typeof HelloFrameSchema>;

/** One capture or a batch, each stored idempotently by its id and acknowledged after commit. */
export const CaptureFrameSchema = z
  .strictObject({
    type: z.literal('capture'),
    v: VersionLiteral,
    captures: z.array(CaptureSchema).min(1).max(MAX_CAPTURE_BATCH),
  })
  .refine((frame) => new Set(frame.captures.map((c) => c.id)).size === frame.captures.length, {
    message: 'a batch must not carry the same capture id twice',
    path: ['captures'],
  });
export type CaptureFrame = z.infer<typeof CaptureFrameSchema>;

/**
 * A screenshot, sent in-band before the capture that references it by `sha256`. The
 * collector checks the hash and size, stores it content-addressed (so a resend is free),
 * and answers `screenshot_ack`. A capture whose screenshot the collector lacks is answered
 * with a retryable SCREENSHOT_MISSING: the agent sends the screenshot again, then the capture.
 */
export const ScreenshotFrameSchema = z.strictObject({
  type: z.literal('screenshot'),
  v: VersionLiteral,
  sha256: Sha256Schema,
  mediaType: ScreenshotMediaTypeSchema,
  width: z.int().min(1).max(MAX_SCREENSHOT_EDGE_PX),
  height: z.int().min(1).max(MAX_SCREENSHOT_EDGE_PX),
  /** The image bytes, base64 (RFC 4648, with padding), at most MAX_SCREENSHOT_BYTES decoded. */
  data: z.base64().max(SCREENSHOT_BASE64_MAX_CHARS, {
    message: `the screenshot is larger than ${MAX_SCREENSHOT_BYTES} bytes (MAX_SCREENSHOT_BYTES): scale or compress it more`,
  }),
});
export type ScreenshotFrame = z.infer<typeof ScreenshotFrameSchema>;

/** The state of one of the agent's sources. */
export const SourceStateSchema = z.enum([
  'running',
  'starting',
  'stopped',
  'failed',
  'disabled',
  'unsupported',
]);
export type SourceState = z.infer<typeof SourceStateSchema>;

/** The state of the logged-in session on the device. */
export const SessionStateSchema = z.enum(['active', 'locked', 'switched_out', 'logged_out']);
export type SessionState = z.infer<typeof SessionStateSchema>;

/** What the agent reports about itself, so the collector can flag a device that is failing or tampered with. */
export const AgentHealthSchema = z.strictObject({
  sources: z.strictObject({
    window_title: SourceStateSchema,
    typed: SourceStateSchema,
    clipboard: SourceStateSchema,
    screenshot: SourceStateSchema,
  }),
  spool: z.strictObject({
    /** Captures written to disk and not yet acknowledged. */
    depth: z.int().min(0),
    bytes: z.int().min(0),
    oldestObservedAt: DateTimeSchema.nullable(),
  }),
  /** Captures dropped since install (spool full or too old), so loss is always visible. */
  droppedCount: z.int().min(0),
  /** The last error, by code; the message never holds capture content. */
  lastError: z
    .strictObject({
      code: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be an error code like SPOOL_CORRUPT_RECORD'),
      message: z.string().max(500),
      at: DateTimeSchema,
    })
    .nullable(),
  uptimeS: z.int().min(0),
});
export type AgentHealth = z.infer<typeof AgentHealthSchema>;

/** Sent every `heartbeatIntervalMs`: who is logged in, the session state, and the agent's health. */
export const HeartbeatFrameSchema = z.strictObject({
  type: z.literal('heartbeat'),
  v: VersionLiteral,
  sentAt: DateTimeSchema,
  loginName: z.string().min(1).max(256).nullable(),
  session: SessionStateSchema,
  policyVersion: VersionSchema.nullable(),
  health: AgentHealthSchema,
  /** The pupil's acknowledgement of the login banner for this session, if given. */
  banner: z
    .strictObject({ acknowledgedAt: DateTimeSchema, policyVersion: VersionSchema })
    .nullable(),
});
export type HeartbeatFrame = z.infer<typeof HeartbeatFrameSchema>;

/** Every frame an agent may send. */
export const AgentFrameSchema = z.discriminatedUnion('type', [
  HelloFrameSchema,
  CaptureFrameSchema,
  ScreenshotFrameSchema,
  HeartbeatFrameSchema,
]);
export type AgentFrame = z.infer<typeof AgentFrameSchema>;

// ── collector → agent ────────────────────────────────────────────────────────────────
// Plain objects: an agent older than its collector ignores fields it does not know.

/** The answer to `hello`: the version both speak, who the device is, and the limits in force. */
export const WelcomeFrameSchema = z.object({
  type: z.literal('welcome'),
  v: VersionLiteral,
  protocolVersion: z.int().positive(),
  deviceId: UuidSchema,
  siteId: UuidSchema,
  serverTime: DateTimeSchema,
  /** The site's current policy; when it differs from the device's, a `policy` frame follows. */
  policyVersion: VersionSchema.nullable(),
  heartbeatIntervalMs: z.int().min(1_000).max(600_000),
  limits: z.object({
    maxFrameBytes: z.int().positive(),
    maxCaptureBatch: z.int().positive(),
    maxScreenshotBytes: z.int().positive(),
  }),
});
export type WelcomeFrame = z.infer<typeof WelcomeFrameSchema>;

/** Captures now committed to the database: the agent may delete them from its spool. */
export const AckFrameSchema = z.object({
  type: z.literal('ack'),
  v: VersionLiteral,
  captureIds: z.array(UuidV7Schema).min(1).max(MAX_CAPTURE_BATCH),
});
export type AckFrame = z.infer<typeof AckFrameSchema>;

/** A screenshot now stored: captures may reference it. */
export const ScreenshotAckFrameSchema = z.object({
  type: z.literal('screenshot_ack'),
  v: VersionLiteral,
  sha256: Sha256Schema,
});
export type ScreenshotAckFrame = z.infer<typeof ScreenshotAckFrameSchema>;

/**
 * Something the agent sent was not accepted. `retryable` says whether sending the same
 * thing again later can succeed (rate limits, a server fault, a missing screenshot); a
 * capture that is not retryable goes to the agent's quarantine, never round and round.
 */
export const ErrorFrameSchema = z.object({
  type: z.literal('error'),
  v: VersionLiteral,
  code: WireErrorCodeSchema,
  message: z.string().min(1).max(ERROR_MESSAGE_MAX_CHARS),
  retryable: z.boolean(),
  captureId: UuidV7Schema.optional(),
  sha256: Sha256Schema.optional(),
  retryAfterMs: z.int().min(0).max(3_600_000).optional(),
});
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;

/** The site's policy for this device, to apply and cache on disk. */
export const PolicyFrameSchema = z.object({
  type: z.literal('policy'),
  v: VersionLiteral,
  policy: PolicySchema,
});
export type PolicyFrame = z.infer<typeof PolicyFrameSchema>;

/** Every frame a collector may send. */
export const CollectorFrameSchema = z.discriminatedUnion('type', [
  WelcomeFrameSchema,
  AckFrameSchema,
  ScreenshotAckFrameSchema,
  ErrorFrameSchema,
  PolicyFrameSchema,
]);
export type CollectorFrame = z.infer<typeof CollectorFrameSchema>;

// ── parsing ──────────────────────────────────────────────────────────────────────────

/** Why a frame (or one capture in it) was not accepted, ready to send back as an `error` frame. */
export interface FrameError {
  readonly code: WireErrorCode;
  readonly message: string;
  readonly captureId?: string;
}

/** Codes whose cause may pass: the sender should try the same thing again later. */
const RETRYABLE_CODES: ReadonlySet<WireErrorCode> = new Set([
  'RATE_LIMITED',
  'SCREENSHOT_MISSING',
  'INTERNAL',
]);

/** Build the `error` frame for a problem, marking whether a retry can help. */
export function makeErrorFrame(
  error: FrameError & { readonly sha256?: string; readonly retryAfterMs?: number },
): ErrorFrame {
  return {
    type: 'error',
    v: PROTOCOL_VERSION,
    code: error.code,
    message: error.message.slice(0, ERROR_MESSAGE_MAX_CHARS),
    retryable: RETRYABLE_CODES.has(error.code),
    ...(error.captureId === undefined ? {} : { captureId: error.captureId }),
    ...(error.sha256 === undefined ? {} : { sha256: error.sha256 }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  };
}

/** `['captures', 0, 'severity']` → `captures[0].severity`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) =>
      typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`,
    )
    .join('');
}

/**
 * Zod issues as one line a person can act on: `captures[0].severity: Too big: expected
 * number to be <=5`. Zod's messages name fields and limits, never the rejected values, so
 * no capture content reaches an error frame or a log.
 */
export function describeIssues(error: z.ZodError, maxIssues = 5): string {
  const described = error.issues
    .slice(0, maxIssues)
    .map((issue) => `${formatPath(issue.path) || '(frame)'}: ${issue.message}`);
  const more = error.issues.length - described.length;
  return described.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** UTF-8 length of a string, without encoding it when its length alone decides against `limit`. */
function utf8ByteLength(text: string, limit: number): number {
  // Each UTF-16 unit takes 1–3 UTF-8 bytes, so the length bounds the size both ways.
  if (text.length > limit || text.length * 3 <= limit) return text.length;
  return utf8Encoder.encode(text).byteLength;
}

type Decoded = { ok: true; value: Record<string, unknown> } | { ok: false; error: FrameError };

/** Size check first (never parse an oversize frame), then strict UTF-8, then JSON, then an object with a type. */
function decodeFrame(data: string | Uint8Array, maxFrameBytes: number): Decoded {
  const bytes = typeof data === 'string' ? utf8ByteLength(data, maxFrameBytes) : data.byteLength;
  if (bytes > maxFrameBytes) {
    return {
      ok: false,
      error: {
        code: 'FRAME_TOO_LARGE',
        message: `frame is ${bytes} bytes; the limit is ${maxFrameBytes} (MAX_FRAME_BYTES). Send captures in smaller batches and screenshots one per frame.`,
      },
    };
  }
  let text: string;
  try {
    text = typeof data === 'string' ? data : utf8.decode(data);
  } catch {
    // The decoder's own message adds nothing for the sender; the code and ours say it all.
    return {
      ok: false,
      error: { code: 'FRAME_NOT_JSON', message: 'frame is not valid UTF-8: send JSON text frames' },
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return {
      ok: false,
      error: {
        code: 'FRAME_NOT_JSON',
        message: `frame is not JSON (${cause instanceof Error ? cause.message : 'parse error'}): send one JSON object per frame`,
      },
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: {
        code: 'FRAME_INVALID',
        message: 'frame must be a JSON object with a "type" field',
      },
    };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

function checkTypeAndVersion(
  value: Record<string, unknown>,
  knownTypes: readonly string[],
  side: 'agent' | 'collector',
): FrameError | undefined {
  const type = value['type'];
  if (typeof type !== 'string' || !knownTypes.includes(type)) {
    return {
      code: 'FRAME_UNKNOWN_TYPE',
      message: `unknown ${side} frame type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : '(missing)'}: protocol v${PROTOCOL_VERSION} ${side} frames are ${knownTypes.join(', ')}`,
    };
  }
  if (type !== 'hello' && value['v'] !== PROTOCOL_VERSION) {
    return {
      code: 'PROTOCOL_UNSUPPORTED',
      message: `${type} frame has protocol version ${JSON.stringify(value['v'])}; this side speaks v${PROTOCOL_VERSION}. Update the agent or the collector so they share a version.`,
    };
  }
  return undefined;
}

/** A capture in a batch that was refused, while the rest of the batch goes on. */
export interface CaptureRejection extends FrameError {
  /** Its position in the batch. */
  readonly index: number;
}

/** A parsed agent frame. For `capture` frames the valid captures are kept and each invalid one is listed in `rejected`. */
export type AgentFrameParse =
  | { ok: true; frame: AgentFrame; rejected: readonly CaptureRejection[] }
  | { ok: false; error: FrameError };

const AGENT_FRAME_TYPES = ['hello', 'capture', 'screenshot', 'heartbeat'] as const;
const COLLECTOR_FRAME_TYPES = ['welcome', 'ack', 'screenshot_ack', 'error', 'policy'] as const;

const CaptureBatchEnvelopeSchema = z.strictObject({
  type: z.literal('capture'),
  v: VersionLiteral,
  captures: z.array(z.unknown()).min(1).max(MAX_CAPTURE_BATCH),
});

/**
 * Parse one frame from an agent. Never throws: bad input becomes a `FrameError` with a
 * stable code and a message to send back. A batch answers per capture: invalid captures
 * are rejected one by one (with their id when they have a readable one), duplicates within
 * the batch are rejected after the first, and the valid rest is returned.
 */
export function parseAgentFrame(
  data: string | Uint8Array,
  options: { maxFrameBytes?: number } = {},
): AgentFrameParse {
  const decoded = decodeFrame(data, options.maxFrameBytes ?? MAX_FRAME_BYTES);
  if (!decoded.ok) return decoded;
  const value = decoded.value;
  const typeError = checkTypeAndVersion(value, AGENT_FRAME_TYPES, 'agent');
  if (typeError) return { ok: false, error: typeError };

  if (value['type'] === 'capture') {
    const envelope = CaptureBatchEnvelopeSchema.safeParse(value);
    if (!envelope.success) {
      return {
        ok: false,
        error: {
          code: 'FRAME_INVALID',
          message: `capture frame is invalid: ${describeIssues(envelope.error)}`,
        },
      };
    }
    const captures: Capture[] = [];
    const rejected: CaptureRejection[] = [];
    const seen = new Set<string>();
    envelope.data.captures.forEach((item, index) => {
      const parsed = CaptureSchema.safeParse(item);
      const rawId = (item as { id?: unknown } | null)?.id;
      const readableId = UuidV7Schema.safeParse(rawId).success ? (rawId as string) : undefined;
      const captureId = readableId === undefined ? {} : { captureId: readableId };
      if (!parsed.success) {
        rejected.push({
          index,
          code: 'CAPTURE_INVALID',
          message: `captures[${index}] is invalid: ${describeIssues(parsed.error)}`,
          ...captureId,
        });
      } else if (seen.has(parsed.data.id)) {
        rejected.push({
          index,
          code: 'CAPTURE_INVALID',
          message: `captures[${index}] repeats a capture id already in this batch`,
          ...captureId,
        });
      } else {
        seen.add(parsed.data.id);
        captures.push(parsed.data);
      }
    });
    return { ok: true, frame: { type: 'capture', v: PROTOCOL_VERSION, captures }, rejected };
  }

  const parsed = AgentFrameSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        code: 'FRAME_INVALID',
        message: `${String(value['type'])} frame is invalid: ${describeIssues(parsed.error)}`,
      },
    };
  }
  return { ok: true, frame: parsed.data, rejected: [] };
}

/** A parsed collector frame, or why it could not be read. */
export type CollectorFrameParse =
  { ok: true; frame: CollectorFrame } | { ok: false; error: FrameError };

/** Parse one frame from the collector (the agent's side). Never throws. */
export function parseCollectorFrame(
  data: string | Uint8Array,
  options: { maxFrameBytes?: number } = {},
): CollectorFrameParse {
  const decoded = decodeFrame(data, options.maxFrameBytes ?? MAX_FRAME_BYTES);
  if (!decoded.ok) return decoded;
  const typeError = checkTypeAndVersion(decoded.value, COLLECTOR_FRAME_TYPES, 'collector');
  if (typeError) return { ok: false, error: typeError };
  const parsed = CollectorFrameSchema.safeParse(decoded.value);
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        code: 'FRAME_INVALID',
        message: `${String(decoded.value['type'])} frame is invalid: ${describeIssues(parsed.error)}`,
      },
    };
  }
  return { ok: true, frame: parsed.data };
}

/**
 * The protocol version two sides share: the highest in both lists, or `undefined` when
 * there is none (the collector then answers PROTOCOL_UNSUPPORTED and closes with 4426).
 */
export function negotiateProtocolVersion(
  offered: readonly number[],
  supported: readonly number[] = [PROTOCOL_VERSION],
): number | undefined {
  const common = offered.filter((version) => supported.includes(version));
  return common.length === 0 ? undefined : Math.max(...common);
}
