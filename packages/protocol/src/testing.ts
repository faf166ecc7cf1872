/**
 * @lantern/protocol/testing — factories of valid protocol messages for tests in every
 * package (`makeCapture({ severity: 5 })`). Published as its own entry point so production
 * code never imports it. All text is synthetic: never real pupil data.
 */
import type { Capture, Match } from './capture.ts';
import { CATEGORY_IDS, type Category } from './categories.ts';
import type { EnrolRequest } from './enrol.ts';
import type { HeartbeatFrame, HelloFrame, ScreenshotFrame } from './frames.ts';
import { PROTOCOL_VERSION } from './limits.ts';
import type { Exemption, Policy } from './policy.ts';

/** Fixed ids for a test site and device. */
export const TEST_SITE_ID = '0b3f7d2e-5c1a-4e8b-9f60-2a7d4c8e1b93';
export const TEST_DEVICE_ID = '6e1c9a47-3b2d-4f85-a0c6-7d9e2b4f1a58';
const TEST_EPOCH_MS = Date.UTC(2026, 10, 23, 9, 0, 0);

let sequence = 0;

/** A valid, unique, deterministic UUIDv7 (time-ordered by `atMs`, then by call order). */
export function testUuidV7(atMs: number = TEST_EPOCH_MS, seq: number = ++sequence): string {
  const time = atMs.toString(16).padStart(12, '0');
  const rand = seq.toString(16).padStart(18, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${rand.slice(0, 3)}-8${rand.slice(3, 6)}-${rand.slice(6, 18)}`;
}

const CONTEXT = 'honestly nobody would miss me if i was gone';

export function makeMatch(overrides: Partial<Match> = {}): Match {
  return {
    termId: 'suicide.nobody-would-miss-me',
    category: 'suicide',
    severity: 5,
    span: { start: 9, end: 30 },
    stage: 'lexicon',
    ...overrides,
  };
}

/** A valid capture; categories follow the matches unless given. */
export function makeCapture(overrides: Partial<Capture> = {}): Capture {
  const matches = overrides.matches ?? [makeMatch()];
  return {
    id: testUuidV7(),
    siteId: TEST_SITE_ID,
    deviceId: TEST_DEVICE_ID,
    observedAt: new Date(TEST_EPOCH_MS).toISOString(),
    source: 'typed',
    app: { name: 'Chat', id: 'chat.exe' },
    windowTitle: 'Chat - Messages',
    loginName: 'pupil.test',
    context: CONTEXT,
    severity: 5,
    lexiconVersion: '2026.11.0',
    screenshot: { status: 'omitted', reason: 'policy_off' },
    flags: { inApprovedLesson: false, exemptionId: null, policyVersion: 'p-1' },
    ...overrides,
    matches,
    categories: overrides.categories ?? [...new Set(matches.map((match) => match.category))],
  };
}

export function makeHello(overrides: Partial<HelloFrame> = {}): HelloFrame {
  return {
    type: 'hello',
    v: PROTOCOL_VERSION,
    deviceId: TEST_DEVICE_ID,
    agentVersion: '0.1.0',
    protocolVersions: [PROTOCOL_VERSION],
    policyVersion: null,
    ...overrides,
  };
}

export function makeHeartbeat(overrides: Partial<HeartbeatFrame> = {}): HeartbeatFrame {
  return {
    type: 'heartbeat',
    v: PROTOCOL_VERSION,
    sentAt: new Date(TEST_EPOCH_MS).toISOString(),
    loginName: 'pupil.test',
    session: 'active',
    policyVersion: 'p-1',
    health: {
      sources: {
        window_title: 'running',
        typed: 'running',
        clipboard: 'running',
        screenshot: 'running',
      },
      spool: { depth: 0, bytes: 0, oldestObservedAt: null },
      droppedCount: 0,
      lastError: null,
      uptimeS: 60,
    },
    banner: { acknowledgedAt: new Date(TEST_EPOCH_MS).toISOString(), policyVersion: 'p-1' },
    ...overrides,
  };
}

/** A screenshot frame; `sha256` is not checked by the schema, so callers that need a true hash set it. */
export function makeScreenshotFrame(overrides: Partial<ScreenshotFrame> = {}): ScreenshotFrame {
  return {
    type: 'screenshot',
    v: PROTOCOL_VERSION,
    sha256: 'a'.repeat(64),
    mediaType: 'image/webp',
    width: 640,
    height: 400,
    data: 'UklGRhYAAABXRUJQVlA4IAoAAAAwAQCdASoBAAEAAQAcJaQAA3AA/v3AgAA=',
    ...overrides,
  };
}

export function makeEnrolRequest(overrides: Partial<EnrolRequest> = {}): EnrolRequest {
  return {
    enrolmentToken: 'enrol_0123456789abcdefghijklmnop',
    hostname: 'LAB1-PC07',
    os: { platform: 'windows', release: '10.0.22631', arch: 'x64' },
    agentVersion: '0.1.0',
    ...overrides,
  };
}

/**
 * An approved lesson: self-harm, for tutor group 9R, 09:00–10:00 UTC on the test day (when
 * `makeCapture` captures are observed). Who is in 9R goes in the policy's `groupMembers`.
 */
export function makeExemption(overrides: Partial<Exemption> = {}): Exemption {
  return {
    id: '3d0c5e2a-8b1f-4c6d-9e7a-1b2c3d4e5f60',
    reason: 'Year 9 PSHE lesson on self-harm awareness',
    groups: ['9R'],
    categories: ['self_harm'],
    startsAt: new Date(TEST_EPOCH_MS).toISOString(),
    endsAt: new Date(TEST_EPOCH_MS + 60 * 60 * 1000).toISOString(),
    approvedBy: 'Deputy Head',
    ...overrides,
  };
}

export function makePolicy(overrides: Partial<Policy> = {}): Policy {
  const categories = Object.fromEntries(
    CATEGORY_IDS.map((id): [Category, 'on' | 'off' | 'sensitive'] => [
      id,
      id === 'csam_iioc' ? 'off' : id === 'pornography' ? 'sensitive' : 'on',
    ]),
  ) as Record<Category, 'on' | 'off' | 'sensitive'>;
  return {
    version: 'p-1',
    siteId: TEST_SITE_ID,
    issuedAt: new Date(TEST_EPOCH_MS).toISOString(),
    lexicon: { version: '2026.11.0', ageBand: 'secondary', overrides: [] },
    exemptions: [],
    groupMembers: {},
    screenshots: { enabled: true, maxWidthPx: 640, quality: 70, categories },
    banner: {
      schoolName: 'Example Academy',
      title: 'This device is monitored',
      text: 'To keep you safe, what you do on school devices is monitored. Talk to any member of staff if you are worried.',
      contact: 'Designated Safeguarding Lead, room 12',
    },
    spool: { maxBytes: 256 * 1024 * 1024, maxAgeDays: 60 },
    heartbeatIntervalMs: 60_000,
    ...overrides,
  };
}
