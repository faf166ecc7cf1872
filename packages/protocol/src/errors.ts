/**
 * Stable error codes that cross the wire: in WebSocket `error` frames and in HTTP error
 * bodies. Agents and the dashboard branch on these codes, so a code is never renamed or
 * reused; add new ones at the end.
 */
export const WIRE_ERROR_CODES = [
  'FRAME_TOO_LARGE',
  'FRAME_NOT_JSON',
  'FRAME_UNKNOWN_TYPE',
  'FRAME_INVALID',
  'PROTOCOL_UNSUPPORTED',
  'HELLO_REQUIRED',
  'HELLO_REPEATED',
  'AUTH_REQUIRED',
  'AUTH_REJECTED',
  'DEVICE_REVOKED',
  'DEVICE_MISMATCH',
  'RATE_LIMITED',
  'CAPTURE_INVALID',
  'CAPTURE_SITE_MISMATCH',
  'SCREENSHOT_TOO_LARGE',
  'SCREENSHOT_HASH_MISMATCH',
  'SCREENSHOT_MISSING',
  'ENROL_TOKEN_INVALID',
  'ENROL_TOKEN_EXPIRED',
  'ENROL_TOKEN_REVOKED',
  'ENROL_TOKEN_EXHAUSTED',
  'REQUEST_INVALID',
  'NOT_FOUND',
  'INTERNAL',
  'SERVICE_UNAVAILABLE',
  'SIGN_IN_REQUIRED',
  'SIGN_IN_FAILED',
  'ACCOUNT_LOCKED',
  'MFA_REQUIRED',
  'MFA_INVALID',
  'MFA_SETUP_REQUIRED',
  'CSRF_REJECTED',
  'FORBIDDEN',
  'CONFLICT',
  'PASSWORD_TOO_WEAK',
] as const;

/** A stable, machine-readable error code shared by agent, collector and dashboard. */
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/** Error codes raised inside this package. */
export type ProtocolErrorCode = 'PROTOCOL_SCHEMA_UNREPRESENTABLE';

/**
 * The base error of every Lantern package: a stable `code` plus a message that says what
 * happened, where, and what to do next. Packages extend the code union, never the class.
 */
export class LanternError<Code extends string = string> extends Error {
  // No parameter properties: keeps the file erasable for Node's type stripping.
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LanternError';
    this.code = code;
  }
}
