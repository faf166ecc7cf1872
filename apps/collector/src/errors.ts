import { ErrorBodySchema, LanternError, type WireErrorCode } from '@lantern/protocol';

/** Error codes raised inside the collector (wire codes live in @lantern/protocol). */
export type CollectorErrorCode =
  | 'CONFIG_INVALID'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_MIGRATION_FAILED'
  | 'DATA_DIR_UNWRITABLE'
  | 'PORT_IN_USE';

/** A collector error with a stable code and a message that says what to do next. */
export class CollectorError extends LanternError<CollectorErrorCode> {
  constructor(code: CollectorErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'CollectorError';
  }
}

/**
 * An error to answer over HTTP with a stable wire code (`ErrorBody`) and the status that
 * goes with it. The message is shown to the caller, so it never holds secrets or content.
 */
export class WireError extends LanternError<WireErrorCode> {
  readonly statusCode: number;

  constructor(
    code: WireErrorCode,
    statusCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'WireError';
    this.statusCode = statusCode;
  }
}

/**
 * The error answers every `/api` route may give (an ErrorBody each), for its response
 * schema: a route adds the ones only it gives (409, 423…).
 */
export const API_ERROR_RESPONSES = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
} as const;

/** The signed-in member of staff of a route the auth plugin guards (never null there). */
export function requireStaff<T>(principal: T | null): T {
  if (!principal) throw new Error('the auth plugin let an anonymous request through');
  return principal;
}
