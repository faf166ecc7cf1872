/**
 * What the agent watches, each behind a small interface: a real implementation per
 * platform (Linux/X11 here, tested under Xvfb; Windows and macOS where the libraries give
 * it), and Electron's own where the shell provides one. A source never stores or sends
 * anything: it hands events to the detector, which keeps only what matches.
 */
import type { SessionState, SourceState } from '@lantern/protocol';

/** The window that has focus. */
export interface ActiveWindow {
  /** Stable for the window's life (X11 window id, HWND, CGWindowID), to key per-window state. */
  readonly id: string;
  readonly title: string;
  /** The owning application, as a person would name it ("Google Chrome"). */
  readonly appName: string;
  /** Bundle id, executable path or WM_CLASS, when known. */
  readonly appId: string | null;
  readonly pid: number | null;
}

/**
 * What typing did to the text of the focused field: text entered (after the keyboard
 * layout, Shift and Caps Lock), a character removed, or a boundary where a sentence
 * should be settled (Enter, Tab, a click, focus moving, the caret moving). Never a raw key log.
 */
export type TextEdit =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'backspace' }
  | { readonly kind: 'delete' }
  | { readonly kind: 'boundary'; readonly reason: BoundaryReason };

/**
 * Why the text so far should be settled. `caret`: the caret moved, or the field changed in a
 * way the keys do not spell out (arrow keys, Home/End, Page Up/Down, Ctrl+Backspace, cut,
 * paste, undo, select-all), so what is typed next need not continue what came before.
 */
export type BoundaryReason = 'enter' | 'tab' | 'click' | 'focus' | 'caret';

/** The logged-in user and their session. */
export interface SessionInfo {
  readonly loginName: string | null;
  readonly state: SessionState;
}

/** A source the agent starts, stops and reports on. */
export interface Source<Event> {
  /** `running`, or why not (`failed` with `error`, `unsupported` on this platform…). */
  readonly state: SourceState;
  /** The last failure, by code (no content), for the heartbeat's health. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /**
   * Start watching; `onEvent` is called for each event until `stop()`. Resolves once the
   * source is running or has failed: it does not throw for a platform failure, which is
   * reported through `state` and `error` instead.
   */
  start(onEvent: (event: Event) => void): Promise<void>;
  /** Stop watching and release what the source holds (child processes, hooks). Idempotent. */
  stop(): Promise<void>;
}

export type WindowSource = Source<ActiveWindow>;
export type TypingSource = Source<TextEdit> & {
  /** Whether the focused field is a password field, where the platform can tell. */
  readonly inPasswordField?: () => boolean;
};
export type ClipboardSource = Source<string>;
export type SessionSource = Source<SessionInfo>;

/** A picture of the screen, before scaling and compression. */
export interface RawScreenshot {
  readonly width: number;
  readonly height: number;
  /** Pixels, `channels` bytes each (RGB or RGBA), row by row. */
  readonly pixels: Uint8Array;
  readonly channels: 3 | 4;
}

/** Takes a picture of what is on screen now. */
export interface ScreenGrabber {
  readonly state: SourceState;
  grab(): Promise<RawScreenshot>;
}
