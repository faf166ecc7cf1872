import { describe, expect, it } from 'vitest';

import { CaptureSchema } from './capture.ts';
import { describeIssues } from './frames.ts';
import { CONTEXT_MAX_CHARS } from './limits.ts';
import { makeCapture, makeMatch } from './testing.ts';

function problems(value: unknown): string {
  const result = CaptureSchema.safeParse(value);
  return result.success ? '' : describeIssues(result.error);
}

describe('CaptureSchema', () => {
  it('accepts a capture with its matches, context and an omitted screenshot', () => {
    expect(problems(makeCapture())).toBe('');
  });

  it('accepts a capture with an attached screenshot and several categories', () => {
    const capture = makeCapture({
      matches: [
        makeMatch(),
        makeMatch({
          termId: 'sh.blade',
          category: 'self_harm',
          severity: 4,
          span: { start: 0, end: 8 },
        }),
      ],
      screenshot: {
        status: 'attached',
        sha256: 'f'.repeat(64),
        mediaType: 'image/webp',
        bytes: 12_000,
        width: 640,
        height: 400,
        sensitive: false,
      },
    });
    expect(problems(capture)).toBe('');
    expect(capture.categories).toEqual(['suicide', 'self_harm']);
  });

  it('rejects an id that is not a UUIDv7 made on the device', () => {
    expect(problems(makeCapture({ id: '2f1b6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b' }))).toMatch(/^id:/);
  });

  it('rejects a span that runs past the end of the context', () => {
    const capture = makeCapture({ matches: [makeMatch({ span: { start: 40, end: 60 } })] });
    expect(problems(capture)).toContain('matches[0].span.end: span ends at 60');
  });

  it('rejects a span whose end is not after its start', () => {
    expect(
      problems(makeCapture({ matches: [makeMatch({ span: { start: 5, end: 5 } })] })),
    ).toContain('matches[0].span.end: end must be greater than start');
  });

  it('rejects categories that differ from the matches', () => {
    expect(problems(makeCapture({ categories: ['bullying'] }))).toContain(
      'categories: categories must be exactly',
    );
    expect(problems(makeCapture({ categories: ['suicide', 'suicide'] }))).toContain(
      'must not repeat',
    );
  });

  it('rejects a screenshot on a csam_iioc capture', () => {
    const capture = makeCapture({
      matches: [makeMatch({ termId: 'iioc.send-pic', category: 'csam_iioc' })],
      screenshot: {
        status: 'attached',
        sha256: 'f'.repeat(64),
        mediaType: 'image/webp',
        bytes: 100,
        width: 10,
        height: 10,
        sensitive: true,
      },
    });
    expect(problems(capture)).toContain(
      'screenshot: a csam_iioc capture must never carry a screenshot',
    );
  });

  it('caps the context at CONTEXT_MAX_CHARS', () => {
    const context = 'x'.repeat(CONTEXT_MAX_CHARS + 1);
    expect(problems(makeCapture({ context }))).toMatch(/^context: Too big/);
  });

  it('rejects a severity outside 1–5 and an unknown source', () => {
    expect(problems(makeCapture({ severity: 6 }))).toMatch(/^severity: Too big/);
    expect(problems({ ...makeCapture(), source: 'keylog' })).toMatch(/^source:/);
  });

  it('rejects a field it does not know, so nothing extra leaves a device unnoticed', () => {
    expect(problems({ ...makeCapture(), keystrokes: 'abc' })).toContain(
      'Unrecognized key: "keystrokes"',
    );
  });

  it('requires an exemption id exactly when the capture is in an approved lesson', () => {
    const inLesson = makeCapture({
      flags: { inApprovedLesson: true, exemptionId: null, policyVersion: 'p-1' },
    });
    expect(problems(inLesson)).toContain('flags.exemptionId');
    const withId = makeCapture({
      flags: {
        inApprovedLesson: true,
        exemptionId: '3d0c5e2a-8b1f-4c6d-9e7a-1b2c3d4e5f60',
        policyVersion: 'p-1',
      },
    });
    expect(problems(withId)).toBe('');
  });

  it('rejects a time without an offset', () => {
    expect(problems(makeCapture({ observedAt: '2026-11-23T09:00:00' }))).toMatch(/^observedAt:/);
  });
});
