import { LanternError } from '@lantern/protocol';

/**
 * Error codes of the sources and the screen grabber: in a source's `error.code` (and from
 * there the heartbeat's `lastError`), or on a thrown `SourceError`. Messages say what failed
 * and what to do, and never carry captured content (titles, keys, clipboard text).
 */
export type SourceErrorCode =
  /** The active-window watcher stopped: the X display is gone or xprop is missing. */
  | 'WINDOW_SOURCE_FAILED'
  /** The X server has no RECORD extension, so the keyboard hook cannot run (it would abort). */
  | 'TYPING_SOURCE_NO_RECORD'
  /** The keyboard hook could not be checked, loaded or started. */
  | 'TYPING_SOURCE_FAILED'
  /** The clipboard cannot be read: the X display is gone or xclip is missing. */
  | 'CLIPBOARD_SOURCE_FAILED'
  /** Taking the screenshot failed: the X display is gone or xwd is missing. */
  | 'SCREENSHOT_GRAB_FAILED'
  /** The X server sent pixels in a format the grabber does not decode. */
  | 'SCREENSHOT_FORMAT_UNSUPPORTED'
  /** No size and quality tried brought the screenshot under the byte limit. */
  | 'SCREENSHOT_TOO_LARGE';

/** A failure of a source or the screen grabber, by code. */
export class SourceError extends LanternError<SourceErrorCode> {}

/** The `{ code, message }` a source keeps in its `error` field. */
export interface SourceFailure {
  readonly code: SourceErrorCode;
  readonly message: string;
}
