import { describe, expect, it } from 'vitest';

import {
  CollectorFrameSchema,
  makeErrorFrame,
  negotiateProtocolVersion,
  parseAgentFrame,
  parseCollectorFrame,
  type CollectorFrame,
} from './frames.ts';
import {
  CONTEXT_MAX_CHARS,
  MAX_CAPTURE_BATCH,
  MAX_FRAME_BYTES,
  MAX_MATCHES_PER_CAPTURE,
  MAX_SCREENSHOT_BYTES,
  PROTOCOL_VERSION,
  WINDOW_TITLE_MAX_CHARS,
} from './limits.ts';
import {
  makeCapture,
  makeHeartbeat,
  makeHello,
  makeMatch,
  makePolicy,
  makeScreenshotFrame,
  testUuidV7,
} from './testing.ts';

const json = (value: unknown) => JSON.stringify(value);

function expectError(result: ReturnType<typeof parseAgentFrame>, code: string): string {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.code).toBe(code);
  return result.error.message;
}

describe('parseAgentFrame: good frames', () => {
  it('reads a hello, a capture batch, a screenshot and a heartbeat', () => {
    const frames = [
      makeHello(),
      { type: 'capture', v: PROTOCOL_VERSION, captures: [makeCapture(), makeCapture()] },
      makeScreenshotFrame(),
      makeHeartbeat(),
    ];
    for (const frame of frames) {
      const result = parseAgentFrame(json(frame));
      expect(result).toEqual({ ok: true, frame, rejected: [] });
    }
  });

  it('reads frames from bytes as well as text', () => {
    const result = parseAgentFrame(new TextEncoder().encode(json(makeHeartbeat())));
    expect(result.ok).toBe(true);
  });

  it('reads a hello from a newer agent, so the collector can answer with a version both speak', () => {
    const result = parseAgentFrame(
      json({ ...makeHello({ v: 7, protocolVersions: [7, 1] }), later: true }),
    );
    expect(result.ok && result.frame).toEqual(makeHello({ v: 7, protocolVersions: [7, 1] }));
  });

  it('reads a heartbeat from a locked session with no one logged in and failing sources', () => {
    const heartbeat = makeHeartbeat({
      loginName: null,
      session: 'locked',
      banner: null,
      health: {
        sources: {
          window_title: 'running',
          typed: 'failed',
          clipboard: 'disabled',
          screenshot: 'unsupported',
        },
        spool: { depth: 12, bytes: 40_000, oldestObservedAt: '2026-11-20T08:00:00.000Z' },
        droppedCount: 3,
        lastError: {
          code: 'SOURCE_KEYBOARD_HOOK_FAILED',
          message: 'X RECORD extension missing',
          at: '2026-11-23T09:00:00Z',
        },
        uptimeS: 5,
      },
    });
    expect(parseAgentFrame(json(heartbeat)).ok).toBe(true);
  });
});

describe('parseAgentFrame: bad frames get a stable code and a message a person can act on', () => {
  it('refuses an oversize frame before parsing it', () => {
    const message = expectError(
      parseAgentFrame('x'.repeat(MAX_FRAME_BYTES + 1)),
      'FRAME_TOO_LARGE',
    );
    expect(message).toContain('smaller batches');
    expectError(parseAgentFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), 'FRAME_TOO_LARGE');
  });

  it('counts UTF-8 bytes, not characters, against the limit', () => {
    const text = json({ type: 'heartbeat', pad: 'é'.repeat(MAX_FRAME_BYTES / 2) });
    expect(text.length).toBeLessThan(MAX_FRAME_BYTES);
    expectError(parseAgentFrame(text), 'FRAME_TOO_LARGE');
  });

  it('refuses text that is not JSON, bytes that are not UTF-8, and JSON that is not an object', () => {
    expectError(parseAgentFrame('{"type": "hello",'), 'FRAME_NOT_JSON');
    expectError(parseAgentFrame(new Uint8Array([0x7b, 0xff, 0x7d])), 'FRAME_NOT_JSON');
    expectError(parseAgentFrame('[1,2]'), 'FRAME_INVALID');
    expectError(parseAgentFrame('null'), 'FRAME_INVALID');
  });

  it('names the frame types it knows when the type is unknown or missing', () => {
    const message = expectError(
      parseAgentFrame(json({ type: 'keylog', v: 1 })),
      'FRAME_UNKNOWN_TYPE',
    );
    expect(message).toContain('"keylog"');
    expect(message).toContain('hello, capture, screenshot, heartbeat');
    expectError(parseAgentFrame(json({ v: 1 })), 'FRAME_UNKNOWN_TYPE');
    // A collector frame sent the wrong way is unknown too.
    expectError(
      parseAgentFrame(json({ type: 'ack', v: 1, captureIds: [testUuidV7()] })),
      'FRAME_UNKNOWN_TYPE',
    );
  });

  it('refuses a frame of another protocol version after the hello', () => {
    const message = expectError(
      parseAgentFrame(json({ ...makeHeartbeat(), v: 2 })),
      'PROTOCOL_UNSUPPORTED',
    );
    expect(message).toContain('Update the agent or the collector');
  });

  it('says which field is wrong and why', () => {
    const heartbeat = makeHeartbeat();
    const bad = { ...heartbeat, health: { ...heartbeat.health, droppedCount: -1 } };
    const message = expectError(parseAgentFrame(json(bad)), 'FRAME_INVALID');
    expect(message).toMatch(/^heartbeat frame is invalid: health\.droppedCount: Too small/);
  });

  it('refuses a hello without the versions the agent speaks', () => {
    const message = expectError(
      parseAgentFrame(json(makeHello({ protocolVersions: [] }))),
      'FRAME_INVALID',
    );
    expect(message).toContain('protocolVersions');
  });

  it('refuses a screenshot larger than MAX_SCREENSHOT_BYTES and data that is not base64', () => {
    const tooBig = 'A'.repeat(4 * Math.ceil(MAX_SCREENSHOT_BYTES / 3) + 4);
    const message = expectError(
      parseAgentFrame(json(makeScreenshotFrame({ data: tooBig }))),
      'FRAME_INVALID',
    );
    expect(message).toContain('MAX_SCREENSHOT_BYTES');
    expectError(
      parseAgentFrame(json(makeScreenshotFrame({ data: 'not base64!' }))),
      'FRAME_INVALID',
    );
    expectError(parseAgentFrame(json(makeScreenshotFrame({ sha256: 'ABC' }))), 'FRAME_INVALID');
  });

  it('refuses an empty batch and one over MAX_CAPTURE_BATCH', () => {
    expectError(parseAgentFrame(json({ type: 'capture', v: 1, captures: [] })), 'FRAME_INVALID');
    const captures = Array.from({ length: MAX_CAPTURE_BATCH + 1 }, () => makeCapture());
    expectError(parseAgentFrame(json({ type: 'capture', v: 1, captures })), 'FRAME_INVALID');
  });
});

describe('parseAgentFrame: a batch answers per capture', () => {
  it('keeps the valid captures and rejects each invalid one with its id', () => {
    const good = makeCapture();
    const bad = { ...makeCapture(), severity: 9 };
    const result = parseAgentFrame(json({ type: 'capture', v: 1, captures: [good, bad] }));
    expect(result.ok).toBe(true);
    if (!result.ok || result.frame.type !== 'capture') throw new Error('unreachable');
    expect(result.frame.captures).toEqual([good]);
    expect(result.rejected).toEqual([
      expect.objectContaining({ index: 1, captureId: bad.id, code: 'CAPTURE_INVALID' }),
    ]);
    expect(result.rejected[0]?.message).toMatch(/^captures\[1\] is invalid: severity: Too big/);
  });

  it('rejects a capture without a readable id, without inventing one', () => {
    const result = parseAgentFrame(json({ type: 'capture', v: 1, captures: [{ id: 'nope' }] }));
    expect(result.ok && result.rejected[0]).toMatchObject({ index: 0, code: 'CAPTURE_INVALID' });
    expect(result.ok && result.rejected[0]?.captureId).toBeUndefined();
  });

  it('stores a capture repeated within one batch once', () => {
    const capture = makeCapture();
    const result = parseAgentFrame(json({ type: 'capture', v: 1, captures: [capture, capture] }));
    expect(result.ok && result.frame.type === 'capture' && result.frame.captures).toEqual([
      capture,
    ]);
    expect(result.ok && result.rejected).toEqual([
      expect.objectContaining({
        index: 1,
        captureId: capture.id,
        message: expect.stringContaining('repeats'),
      }),
    ]);
  });

  it('fits a worst-case full batch in one frame', () => {
    // Control characters are the costliest text in JSON: six bytes (\u0001) per character.
    const worst = (length: number) => '\u0001'.repeat(length);
    const captures = Array.from({ length: MAX_CAPTURE_BATCH }, () =>
      makeCapture({
        app: { name: worst(256), id: worst(256) },
        windowTitle: worst(WINDOW_TITLE_MAX_CHARS),
        loginName: worst(256),
        context: worst(CONTEXT_MAX_CHARS),
        lexiconVersion: 'v'.repeat(64),
        matches: Array.from({ length: MAX_MATCHES_PER_CAPTURE }, (_, index) =>
          makeMatch({
            termId: `${index}`.padEnd(128, 'x'),
            category: 'criminal_exploitation',
            span: { start: CONTEXT_MAX_CHARS - 1, end: CONTEXT_MAX_CHARS },
          }),
        ),
        screenshot: {
          status: 'attached',
          sha256: 'f'.repeat(64),
          mediaType: 'image/webp',
          bytes: MAX_SCREENSHOT_BYTES,
          width: 8192,
          height: 8192,
          sensitive: false,
        },
        flags: {
          inApprovedLesson: true,
          exemptionId: '3d0c5e2a-8b1f-4c6d-9e7a-1b2c3d4e5f60',
          policyVersion: 'p'.repeat(64),
        },
      }),
    );
    const text = json({ type: 'capture', v: 1, captures });
    expect(new TextEncoder().encode(text).byteLength).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const result = parseAgentFrame(text);
    expect(result.ok && result.rejected).toEqual([]);
  });
});

describe('parseCollectorFrame', () => {
  const frames: CollectorFrame[] = [
    {
      type: 'welcome',
      v: 1,
      protocolVersion: 1,
      deviceId: '6e1c9a47-3b2d-4f85-a0c6-7d9e2b4f1a58',
      siteId: '0b3f7d2e-5c1a-4e8b-9f60-2a7d4c8e1b93',
      serverTime: '2026-11-23T09:00:00.000Z',
      policyVersion: 'p-2',
      heartbeatIntervalMs: 60_000,
      limits: {
        maxFrameBytes: MAX_FRAME_BYTES,
        maxCaptureBatch: MAX_CAPTURE_BATCH,
        maxScreenshotBytes: MAX_SCREENSHOT_BYTES,
      },
    },
    { type: 'ack', v: 1, captureIds: [testUuidV7(), testUuidV7()] },
    { type: 'screenshot_ack', v: 1, sha256: 'e'.repeat(64) },
    makeErrorFrame({
      code: 'CAPTURE_INVALID',
      message: 'captures[0] is invalid',
      captureId: testUuidV7(),
    }),
    { type: 'policy', v: 1, policy: makePolicy() },
  ];

  it('reads every collector frame', () => {
    for (const frame of frames) {
      expect(parseCollectorFrame(json(frame))).toEqual({ ok: true, frame });
    }
  });

  it('ignores fields an older agent does not know, so collectors can be upgraded first', () => {
    const result = parseCollectorFrame(json({ ...frames[1], addedLater: { x: 1 } }));
    expect(result).toEqual({ ok: true, frame: frames[1] });
  });

  it('refuses an ack without ids and an error without a known code', () => {
    const ack = parseCollectorFrame(json({ type: 'ack', v: 1, captureIds: [] }));
    expect(!ack.ok && ack.error.code).toBe('FRAME_INVALID');
    const error = parseCollectorFrame(
      json({ type: 'error', v: 1, code: 'OOPS', message: 'x', retryable: false }),
    );
    expect(!error.ok && error.error.message).toMatch(/^error frame is invalid: code:/);
  });

  it('refuses a policy that would screenshot csam_iioc', () => {
    const policy = makePolicy();
    policy.screenshots.categories.csam_iioc = 'on';
    const result = parseCollectorFrame(json({ type: 'policy', v: 1, policy }));
    expect(!result.ok && result.error.message).toContain('policy.screenshots.categories.csam_iioc');
  });

  it('keeps every collector frame schema in the union', () => {
    expect(CollectorFrameSchema.options).toHaveLength(frames.length);
  });
});

describe('makeErrorFrame', () => {
  it('marks only causes that can pass as retryable', () => {
    expect(
      makeErrorFrame({ code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 5000 }),
    ).toEqual({
      type: 'error',
      v: 1,
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryable: true,
      retryAfterMs: 5000,
    });
    expect(makeErrorFrame({ code: 'SCREENSHOT_MISSING', message: 'send it' }).retryable).toBe(true);
    expect(makeErrorFrame({ code: 'CAPTURE_INVALID', message: 'bad' }).retryable).toBe(false);
    expect(makeErrorFrame({ code: 'DEVICE_REVOKED', message: 'revoked' }).retryable).toBe(false);
  });

  it('cuts an over-long message to what the schema allows', () => {
    const frame = makeErrorFrame({ code: 'INTERNAL', message: 'x'.repeat(5000) });
    expect(parseCollectorFrame(json(frame)).ok).toBe(true);
  });
});

describe('negotiateProtocolVersion', () => {
  it('picks the highest version both sides speak', () => {
    expect(negotiateProtocolVersion([1, 2, 3], [1, 2])).toBe(2);
    expect(negotiateProtocolVersion([1])).toBe(1);
  });

  it('finds none when the sides share no version', () => {
    expect(negotiateProtocolVersion([2, 3], [1])).toBeUndefined();
  });
});
