import type { UiohookKeyboardEvent, UiohookMouseEvent } from 'uiohook-napi';

import type { SourceState } from '@lantern/protocol';

import { deliver } from '../deliver.ts';
import type { SourceErrorCode, SourceFailure } from '../errors.ts';
import { KeyTranslator, type KeyboardLayout } from '../key-translator.ts';
import type { TextEdit, TypingSource } from '../source.ts';

/** The part of uiohook-napi's `uIOhook` the typing source uses; tests pass a stand-in. */
export interface KeyboardHook {
  on(event: 'keydown' | 'keyup', listener: (event: UiohookKeyboardEvent) => void): unknown;
  on(event: 'mousedown', listener: (event: UiohookMouseEvent) => void): unknown;
  removeListener(
    event: 'keydown' | 'keyup',
    listener: (event: UiohookKeyboardEvent) => void,
  ): unknown;
  removeListener(event: 'mousedown', listener: (event: UiohookMouseEvent) => void): unknown;
  start(): void;
  stop(): void;
}

/** What a platform found out before the hook was loaded, or why the hook must not be loaded. */
export type TypingPreparation =
  | {
      readonly ok: true;
      /** The layout in use, when asked for and known; `null` → US. */
      readonly layout: KeyboardLayout | null;
      /** Caps Lock now, when it can be read; `null` → off. */
      readonly capsLock: boolean | null;
    }
  | { readonly ok: false; readonly failure: SourceFailure };

/** What differs between platforms around the one, platform-neutral, uiohook hook. */
export interface TypingPlatform {
  /**
   * Checks and reads done before uiohook-napi is loaded (X11: the RECORD extension, without
   * which libuiohook aborts the process), with the keyboard layout when `detectLayout`.
   */
  prepare(options: { readonly detectLayout: boolean }): Promise<TypingPreparation>;
  /**
   * uiohook's key code → the code of the key at that place on the keyboard, which the
   * translator reads. Identity where uiohook reports physical keys (X11, macOS); on Windows
   * libuiohook derives codes from the layout's virtual keys, so punctuation keys move.
   */
  normaliseKeycode?(keycode: number, layout: KeyboardLayout): number;
  /** The failure to report when the hook does not start, when the platform can say more than the hook's error. */
  startFailure?(cause: unknown): SourceFailure | null;
  /** The advice added when uiohook-napi cannot be loaded. */
  readonly loadHint: string;
  /** The modifier of editing shortcuts such as paste: Command on macOS, else Ctrl. */
  readonly editingModifier?: 'ctrl' | 'meta';
  /** Whether the focused field is a password field, where the platform can tell. */
  inPasswordField?(): boolean;
}

export interface UiohookTypingSourceOptions {
  /** The keyboard layout to translate keys with; `detect` (the default) asks the platform once at start, else US. */
  readonly layout?: KeyboardLayout | 'detect' | undefined;
  readonly platform: TypingPlatform;
  /** Loads the hook: uiohook-napi's `uIOhook` by default; tests pass a stand-in. */
  readonly loadHook?: () => Promise<KeyboardHook>;
}

/**
 * The token of the typing source that owns the process's keyboard hook. uiohook-napi has
 * one hook per process, so a second source would share (and stop) the first one's.
 */
let hookOwner: symbol | null = null;

/**
 * What the pupil types, as `TextEdit`s: a global keyboard and mouse hook (uiohook-napi:
 * the X RECORD extension on Linux, a low-level keyboard hook on Windows, an event tap on
 * macOS), translated by `KeyTranslator` for the UK or US layout. Nothing is buffered or
 * logged here: each key is translated and handed to `onEvent`, and the detector keeps only
 * what matches. Platform differences (checks before loading, layout and Caps Lock at start,
 * key codes) come from a `TypingPlatform`.
 *
 * One per process. Focus changes are not reported here: the detector takes them from the
 * window source.
 */
export class UiohookTypingSource implements TypingSource {
  readonly #layoutOption: KeyboardLayout | 'detect';
  readonly #platform: TypingPlatform;
  readonly #loadHook: () => Promise<KeyboardHook>;
  #state: SourceState = 'stopped';
  #error: SourceFailure | null = null;
  #layout: KeyboardLayout | null = null;
  #detach: (() => void) | null = null;
  readonly #token = Symbol('UiohookTypingSource');

  constructor(options: UiohookTypingSourceOptions) {
    this.#layoutOption = options.layout ?? 'detect';
    this.#platform = options.platform;
    this.#loadHook = options.loadHook ?? loadUiohook;
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

  /** The platform's answer; false where it cannot tell (see each platform's README). */
  readonly inPasswordField = (): boolean => this.#platform.inPasswordField?.() ?? false;

  async start(onEvent: (edit: TextEdit) => void): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') return;
    this.#state = 'starting';
    this.#error = null;
    if (hookOwner !== null) {
      this.#fail(
        'TYPING_SOURCE_FAILED',
        'Another typing source already holds the keyboard hook in this process (there is one per process): stop it first.',
      );
      return;
    }
    hookOwner = this.#token;
    try {
      await this.#startHook(onEvent);
    } finally {
      // `this.state`, not `this.#state`: the hook start above may have changed it.
      if (this.state !== 'running' && hookOwner === this.#token) hookOwner = null;
    }
  }

  async #startHook(onEvent: (edit: TextEdit) => void): Promise<void> {
    const prepared = await this.#platform.prepare({
      detectLayout: this.#layoutOption === 'detect',
    });
    if (this.#state !== 'starting') return; // stopped while checking
    if (!prepared.ok) {
      this.#fail(prepared.failure.code, prepared.failure.message);
      return;
    }
    const layout = this.#layoutOption === 'detect' ? (prepared.layout ?? 'us') : this.#layoutOption;
    const translator = new KeyTranslator({
      layout,
      capsLock: prepared.capsLock ?? false,
      editingModifier: this.#platform.editingModifier ?? 'ctrl',
    });
    const normalise = this.#platform.normaliseKeycode?.bind(this.#platform);
    const keycodeOf = normalise
      ? (keycode: number): number => normalise(keycode, layout)
      : (keycode: number): number => keycode;

    let hook: KeyboardHook;
    try {
      // Loaded only now, after the platform's checks (see TypingPlatform.prepare).
      hook = await this.#loadHook();
    } catch (cause) {
      this.#fail(
        'TYPING_SOURCE_FAILED',
        `The keyboard hook (uiohook-napi) could not be loaded: ${describeError(cause)}. ${this.#platform.loadHint}`,
      );
      return;
    }
    if (this.#state !== 'starting') return;

    // Never let an exception reach uiohook's native callback: it would abort the process.
    const emit = (edit: TextEdit | null): void => {
      if (edit !== null) deliver(onEvent, edit);
    };
    const onKeyDown = (event: UiohookKeyboardEvent): void =>
      emit(translator.keyDown({ ...event, keycode: keycodeOf(event.keycode) }));
    const onKeyUp = (event: UiohookKeyboardEvent): void =>
      translator.keyUp({ keycode: keycodeOf(event.keycode) });
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
      const failure = this.#platform.startFailure?.(cause) ?? {
        code: 'TYPING_SOURCE_FAILED',
        message: `The keyboard hook did not start: ${describeError(cause)}.`,
      };
      this.#fail(failure.code, failure.message);
      return;
    }
    this.#layout = translator.layout;
    this.#detach = () => {
      detach();
      try {
        hook.stop();
      } catch {
        // The hook ended with its session (on X11, its X server): there is nothing left to stop.
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

async function loadUiohook(): Promise<KeyboardHook> {
  const { uIOhook } = await import('uiohook-napi');
  return uIOhook;
}

/** An error's code and message for a failure report (these come from the hook or the loader, never from typed content). */
export function describeError(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === undefined ? cause.message : `${code}: ${cause.message}`;
  }
  return String(cause);
}
