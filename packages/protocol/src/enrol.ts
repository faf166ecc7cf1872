import { z } from 'zod';

import { PlatformSchema, SecretSchema, UuidSchema, VersionSchema } from './common.ts';
import { WIRE_ERROR_CODES } from './errors.ts';
import { ERROR_MESSAGE_MAX_CHARS } from './limits.ts';

/** HTTP path a device enrols at. */
export const ENROL_PATH = '/v1/enrol';

/**
 * `POST /v1/enrol`: an enrolment token, made by a technician for a site, buys this device
 * an id and a credential. The token travels in the body, never in a URL that may be logged.
 */
export const EnrolRequestSchema = z.strictObject({
  enrolmentToken: SecretSchema,
  hostname: z.string().min(1).max(253),
  os: z.strictObject({
    platform: PlatformSchema,
    release: z.string().min(1).max(100),
    arch: z.string().min(1).max(32),
  }),
  agentVersion: VersionSchema,
});
export type EnrolRequest = z.infer<typeof EnrolRequestSchema>;

/**
 * The device's identity. The credential is shown once: the agent stores it where only the
 * system can read it, and the collector keeps only its hash.
 */
export const EnrolResponseSchema = z.object({
  deviceId: UuidSchema,
  siteId: UuidSchema,
  deviceCredential: SecretSchema,
  protocolVersion: z.int().positive(),
});
export type EnrolResponse = z.infer<typeof EnrolResponseSchema>;

export const WireErrorCodeSchema = z.enum(WIRE_ERROR_CODES);

/** The body of every HTTP 4xx/5xx answer: a stable code and a message a person can act on. */
export const ErrorBodySchema = z.object({
  code: WireErrorCodeSchema,
  message: z.string().min(1).max(ERROR_MESSAGE_MAX_CHARS),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
