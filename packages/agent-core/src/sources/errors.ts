import { LanternError } from '@lantern/protocol';

/**
 * Error codes of the sources and the screen grabber: in a source's `error.code` (and from
 * there the heartbeat's `lastError`), or on a thrown `SourceError`. Messages say what failed
 * and what to do, and never carry captured content (titles, keys, clipboard text).
 */
export type SourceErrorCode =
  /** The active-window watcher stopped: the X display is gone or xprop is missing (Linux), or get-windows cannot run. */
  | 'WINDOW_SOURCE_FAILED'
  /** macOS withholds window titles: the agent has no Screen Recording permission. */
  | 'WINDOW_SOURCE_NO_SCREEN_RECORDING'
  /** The X server has no RECORD extension, so the keyboard hook cannot run (it would abort). */
  | 'TYPING_SOURCE_NO_RECORD'
  /** The keyboard hook could not be checked, loaded or started. */
  | 'TYPING_SOURCE_FAILED'
  /** macOS refused the keyboard hook: the agent has no Accessibility permission. */
  | 'TYPING_SOURCE_NO_ACCESSIBILITY'
  /** The clipboard cannot be read: the X display is gone or xclip is missing (Linux), pbpaste or PowerShell cannot run. */
  | 'CLIPBOARD_SOURCE_FAILED'
  /** This operating system has no implementation of the source. */
  | 'SOURCE_PLATFORM_UNSUPPORTED'
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
