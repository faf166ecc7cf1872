import { LanternError, type WireErrorCode } from '@lantern/protocol';

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
