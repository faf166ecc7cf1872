import { describe, expect, it } from 'vitest';

import { EnrolRequestSchema, EnrolResponseSchema, ErrorBodySchema } from './enrol.ts';
import { makeEnrolRequest } from './testing.ts';

describe('enrolment messages', () => {
  it('accept a request from a Windows, macOS or Linux device', () => {
    for (const platform of ['windows', 'macos', 'linux'] as const) {
      const request = makeEnrolRequest({ os: { platform, release: '1', arch: 'arm64' } });
      expect(EnrolRequestSchema.safeParse(request).success).toBe(true);
    }
  });

  it('refuse a token that is too short or carries characters a URL would mangle', () => {
    const short = EnrolRequestSchema.safeParse(makeEnrolRequest({ enrolmentToken: 'abc' }));
    expect(short.error?.issues[0]?.message).toBe('is too short to be a Lantern secret');
    const spaced = EnrolRequestSchema.safeParse(
      makeEnrolRequest({ enrolmentToken: `${'a'.repeat(30)} b` }),
    );
    expect(spaced.success).toBe(false);
  });

  it('refuse an unknown platform and extra fields', () => {
    const request = makeEnrolRequest();
    expect(
      EnrolRequestSchema.safeParse({ ...request, os: { ...request.os, platform: 'android' } })
        .success,
    ).toBe(false);
    expect(EnrolRequestSchema.safeParse({ ...request, serial: 'x' }).success).toBe(false);
  });

  it('answer with a device id, site id and credential', () => {
    const response = {
      deviceId: '6e1c9a47-3b2d-4f85-a0c6-7d9e2b4f1a58',
      siteId: '0b3f7d2e-5c1a-4e8b-9f60-2a7d4c8e1b93',
      deviceCredential: 'dev_abcdefghijklmnopqrstuvwxyz012345',
      protocolVersion: 1,
    };
    expect(EnrolResponseSchema.parse(response)).toEqual(response);
    expect(EnrolResponseSchema.safeParse({ ...response, deviceId: 'x' }).success).toBe(false);
  });

  it('give errors a known code and a message', () => {
    expect(
      ErrorBodySchema.safeParse({ code: 'ENROL_TOKEN_EXPIRED', message: 'Ask for a new token.' })
        .success,
    ).toBe(true);
    expect(ErrorBodySchema.safeParse({ code: 'TOKEN_BAD', message: 'x' }).success).toBe(false);
    expect(ErrorBodySchema.safeParse({ code: 'INTERNAL', message: '' }).success).toBe(false);
  });
});
