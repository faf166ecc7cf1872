import { LanternError } from '@lantern/protocol';

/**
 * Error codes raised by the spool. They are reported in the heartbeat's `lastError`, so a
 * message never holds capture content: ids, counts, file names and OS error codes only.
 */
export type SpoolErrorCode =
  /** Options to `Spool.open` or `setLimits` are not usable. */
  | 'SPOOL_OPTIONS_INVALID'
  /** The spool was closed; open it again to go on. */
  | 'SPOOL_CLOSED'
  /** The directory is already open in this process. */
  | 'SPOOL_LOCKED'
  /** A capture handed to `append` failed CaptureSchema: a bug in the capture builder. */
  | 'SPOOL_RECORD_INVALID'
  /** Screenshot bytes missing, unexpected, or not matching the capture's sha256/size. */
  | 'SPOOL_SCREENSHOT_MISMATCH'
  /** Writing or syncing failed (disk full, I/O error): the capture is NOT stored. */
  | 'SPOOL_WRITE_FAILED'
  /** Reading spooled records failed (I/O error); they stay spooled. */
  | 'SPOOL_READ_FAILED'
  /** A record or file on disk could not be read and was moved to quarantine. */
  | 'SPOOL_CORRUPT_RECORD'
  /** The key file has the wrong size. */
  | 'SPOOL_KEY_INVALID'
  /** The key file is readable by other accounts or owned by another account. */
  | 'SPOOL_KEY_INSECURE';

/** A spool error with a stable code and a message that says what to do next. */
export class SpoolError extends LanternError<SpoolErrorCode> {
  constructor(code: SpoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SpoolError';
  }
}

/** The Node error code of a failed fs call (`ENOENT`), if it has one. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
