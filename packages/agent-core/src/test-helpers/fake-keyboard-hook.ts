/**
 * A stand-in for uiohook-napi's `uIOhook`, for typing tests of the Windows and macOS sources
 * (their hooks cannot run here; the Linux one is tested with the real hook under Xvfb). It
 * emits the events libuiohook would, with the key codes it reports on the platform.
 */
import { EventEmitter } from 'node:events';

import type { UiohookKeyboardEvent, UiohookMouseEvent } from 'uiohook-napi';

import type { KeyboardHook } from '../sources/native/uiohook-typing-source.ts';

/** Modifier flags on a key event. */
export interface Modifiers {
  readonly shift?: boolean;
  readonly ctrl?: boolean;
  readonly alt?: boolean;
  readonly meta?: boolean;
}

// uiohook's EventType values (an enum in uiohook-napi; importing it would load the native addon).
const KEY_PRESSED = 4 as UiohookKeyboardEvent['type'];
const KEY_RELEASED = 5 as UiohookKeyboardEvent['type'];
const MOUSE_PRESSED = 7 as UiohookMouseEvent['type'];

export class FakeKeyboardHook extends EventEmitter implements KeyboardHook {
  started = 0;
  stopped = 0;
  /** Thrown by `start()` when set, as the native hook throws (with a `code`). */
  startError: Error | null = null;
  #time = 0;

  start(): void {
    if (this.startError) throw this.startError;
    this.started += 1;
  }

  stop(): void {
    this.stopped += 1;
  }

  /** Press and release `keycode` (a libuiohook VC_* code) with `modifiers` held. */
  tap(keycode: number, modifiers: Modifiers = {}): void {
    this.down(keycode, modifiers);
    this.up(keycode, modifiers);
  }

  down(keycode: number, modifiers: Modifiers = {}): void {
    this.emit('keydown', this.#key(KEY_PRESSED, keycode, modifiers));
  }

  up(keycode: number, modifiers: Modifiers = {}): void {
    this.emit('keyup', this.#key(KEY_RELEASED, keycode, modifiers));
  }

  click(): void {
    this.#time += 100;
    const event: UiohookMouseEvent = {
      type: MOUSE_PRESSED,
      time: this.#time,
      altKey: false,
      ctrlKey: false,
      metaKey: false,
      shiftKey: false,
      x: 10,
      y: 10,
      button: 1,
      clicks: 1,
    };
    this.emit('mousedown', event);
  }

  /** Listeners still attached, for checking that a stopped source let go of the hook. */
  get listening(): number {
    return (['keydown', 'keyup', 'mousedown'] as const).reduce(
      (sum, name) => sum + this.listenerCount(name),
      0,
    );
  }

  #key(
    type: UiohookKeyboardEvent['type'],
    keycode: number,
    modifiers: Modifiers,
  ): UiohookKeyboardEvent {
    this.#time += 100;
    return {
      type,
      time: this.#time,
      keycode,
      shiftKey: modifiers.shift ?? false,
      ctrlKey: modifiers.ctrl ?? false,
      altKey: modifiers.alt ?? false,
      metaKey: modifiers.meta ?? false,
    };
  }
}
