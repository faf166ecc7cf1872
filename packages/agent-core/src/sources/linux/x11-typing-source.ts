import type * as UiohookModule from 'uiohook-napi';
import type { UiohookKeyboardEvent, UiohookMouseEvent } from 'uiohook-napi';

import type { SourceState } from '@lantern/protocol';

import { deliver } from '../deliver.ts';
import type { SourceErrorCode, SourceFailure } from '../errors.ts';
import { KeyTranslator, type KeyboardLayout } from '../key-translator.ts';
import type { TextEdit, TypingSource } from '../source.ts';
import { checkXExtension, detectKeyboardLayout, readCapsLock } from './x11-probe.ts';

export interface X11TypingSourceOptions {
  /**
   * The keyboard layout to translate keys with. `detect` (the default) reads the X server's
   * layout with `setxkbmap -query` once at start: `gb` → `uk`, `us` → `us`, and anything
   * else (or no answer) → `us`, the layout X servers default to.
   */
  readonly layout?: KeyboardLayout | 'detect';
}

type Hook = typeof UiohookModule.uIOhook;

/**
 * The token of the typing source that owns the process's keyboard hook. uiohook-napi has
 * one hook per process, so a second source would share (and stop) the first one's.
 */
let hookOwner: symbol | null = null;

/**
 * What the pupil types on an X11 desktop, as `TextEdit`s: a global keyboard and mouse hook
 * (uiohook-napi, which reads input through the X RECORD extension), translated by
 * `KeyTranslator` for the UK or US layout. Nothing is buffered or logged here: each key is
 * translated and handed to `onEvent`, and the detector keeps only what matches.
 *
 * Without RECORD, libuiohook aborts the whole process (SIGABRT, which JavaScript cannot
 * catch), so `start()` checks for RECORD with `xdpyinfo` before it loads the hook, and
 * fails with `TYPING_SOURCE_NO_RECORD` instead.
 *
 * Watches the X server named by `$DISPLAY` (libuiohook opens that one; it cannot be told
 * another). One per process. Focus changes are not reported here: the detector takes them
 * from the window source.
 */
export class X11TypingSource implements TypingSource {
  readonly #layoutOption: KeyboardLayout | 'detect';
  #state: SourceState = 'stopped';
  #error: SourceFailure | null = null;
  #layout: KeyboardLayout | null = null;
  #detach: (() => void) | null = null;
  readonly #token = Symbol('X11TypingSource');

  constructor(options: X11TypingSourceOptions = {}) {
    this.#layoutOption = options.layout ?? 'detect';
  }

  get state(): SourceState {
    return this.#state;
  }

  get error(): SourceFailure | null {
    return this.#error;
  }

  /** The layout keys are translated with, once started. */
  get layout(): KeyboardLayout | null {
    return this.#layout;
  }

  /**
   * Always false: X11 has no reliable way to tell that the focused field is a password
   * field (the toolkit knows, the X server does not; AT-SPI exposes it only where
   * accessibility is on, and not for every toolkit). So on X11 this is *unknown*, reported
   * as false, and keys typed into a password field reach the detector like any others
   * (which keeps only what matches the lexicon). The real signals are on the other
   * platforms: Windows UI Automation's `IsPassword` on the focused element, and macOS
   * secure input (`IsSecureEventInputEnabled`), under which macOS withholds the keys from
   * hooks altogether.
   */
  readonly inPasswordField = (): boolean => false;

  async start(onEvent: (edit: TextEdit) => void): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') return;
    this.#state = 'starting';
    this.#error = null;
    const display = process.env['DISPLAY'];
    if (display === undefined || display === '') {
      this.#fail(
        'TYPING_SOURCE_FAILED',
        'DISPLAY is not set, so there is no X server to watch: start the agent inside the X session.',
      );
      return;
    }
    if (hookOwner !== null) {
      this.#fail(
        'TYPING_SOURCE_FAILED',
        'Another typing source already holds the keyboard hook in this process (there is one per process): stop it first.',
      );
      return;
    }
    hookOwner = this.#token;
    try {
      await this.#startHook(display, onEvent);
    } finally {
      // `this.state`, not `this.#state`: the hook start above may have changed it.
      if (this.state !== 'running' && hookOwner === this.#token) hookOwner = null;
    }
  }

  async #startHook(display: string, onEvent: (edit: TextEdit) => void): Promise<void> {
    const record = await checkXExtension(display, 'RECORD');
    if (!record.ok) {
      this.#fail(
        'TYPING_SOURCE_FAILED',
        record.reason === 'tool_missing'
          ? 'xdpyinfo is missing (Debian package x11-utils), so the X RECORD extension cannot be checked; the keyboard hook is not started because without RECORD it aborts the agent. Install x11-utils.'
          : `Cannot connect to the X server at ${display} to check for the RECORD extension: is the session still running?`,
      );
      return;
    }
    if (!record.present) {
      this.#fail(
        'TYPING_SOURCE_NO_RECORD',
        `The X server at ${display} has no RECORD extension, which the keyboard hook needs, so typed text is not watched. Enable RECORD (Xorg loads it by default; for Xvfb pass +extension RECORD) and restart the agent.`,
      );
      return;
    }
    const [detected, capsLock] = await Promise.all([
      this.#layoutOption === 'detect' ? detectKeyboardLayout(display) : this.#layoutOption,
      readCapsLock(display),
    ]);
    if (this.#state !== 'starting') return; // stopped while checking
    const translator = new KeyTranslator({ layout: detected ?? 'us', capsLock: capsLock ?? false });

    let hook: Hook;
    try {
      // Loaded only now, after the RECORD check: see the class comment.
      ({ uIOhook: hook } = await import('uiohook-napi'));
    } catch (cause) {
      this.#fail(
        'TYPING_SOURCE_FAILED',
        `The keyboard hook (uiohook-napi) could not be loaded: ${describe(cause)}. Check that libxtst6 and libx11 are installed.`,
      );
      return;
    }
    if (this.#state !== 'starting') return;

    // Never let an exception reach uiohook's native callback: it would abort the process.
    const emit = (edit: TextEdit | null): void => {
      if (edit !== null) deliver(onEvent, edit);
    };
    const onKeyDown = (event: UiohookKeyboardEvent): void => emit(translator.keyDown(event));
    const onKeyUp = (event: UiohookKeyboardEvent): void => translator.keyUp(event);
    const onMouseDown = (_event: UiohookMouseEvent): void => emit(translator.mouseDown());
    hook.on('keydown', onKeyDown);
    hook.on('keyup', onKeyUp);
    hook.on('mousedown', onMouseDown);
    const detach = (): void => {
      hook.removeListener('keydown', onKeyDown);
      hook.removeListener('keyup', onKeyUp);
      hook.removeListener('mousedown', onMouseDown);
    };
    try {
      hook.start();
    } catch (cause) {
      detach();
      this.#fail('TYPING_SOURCE_FAILED', `The keyboard hook did not start: ${describe(cause)}.`);
      return;
    }
    this.#layout = translator.layout;
    this.#detach = () => {
      detach();
      try {
        hook.stop();
      } catch {
        // The hook ended with its X server (the session is over): there is nothing left to stop.
      }
    };
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    const detach = this.#detach;
    this.#detach = null;
    detach?.();
    if (hookOwner === this.#token) hookOwner = null;
    this.#state = 'stopped';
  }

  #fail(code: SourceErrorCode, message: string): void {
    this.#state = 'failed';
    this.#error = { code, message };
  }
}

/** An error's code and message for a failure report (these come from the hook or the loader, never from typed content). */
function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === undefined ? cause.message : `${code}: ${cause.message}`;
  }
  return String(cause);
}
