import type { KeyboardLayout } from '../key-translator.ts';
import {
  UiohookTypingSource,
  type TypingPlatform,
  type TypingPreparation,
} from '../native/uiohook-typing-source.ts';
import { checkXExtension, detectKeyboardLayout, readCapsLock } from './x11-probe.ts';

export interface X11TypingSourceOptions {
  /**
   * The keyboard layout to translate keys with. `detect` (the default) reads the X server's
   * layout with `setxkbmap -query` once at start: `gb` → `uk`, `us` → `us`, and anything
   * else (or no answer) → `us`, the layout X servers default to.
   */
  readonly layout?: KeyboardLayout | 'detect';
}

/**
 * What the pupil types on an X11 desktop, as `TextEdit`s: `UiohookTypingSource` (a global
 * keyboard and mouse hook, which on X11 reads input through the X RECORD extension,
 * translated by `KeyTranslator` for the UK or US layout) behind the X11 checks.
 *
 * Without RECORD, libuiohook aborts the whole process (SIGABRT, which JavaScript cannot
 * catch), so `start()` checks for RECORD with `xdpyinfo` before it loads the hook, and
 * fails with `TYPING_SOURCE_NO_RECORD` instead.
 *
 * Watches the X server named by `$DISPLAY` (libuiohook opens that one; it cannot be told
 * another). One per process. Focus changes are not reported here: the detector takes them
 * from the window source.
 *
 * `inPasswordField()` is always false: X11 has no reliable way to tell that the focused
 * field is a password field (the toolkit knows, the X server does not; AT-SPI exposes it
 * only where accessibility is on, and not for every toolkit). So on X11 this is *unknown*,
 * reported as false, and keys typed into a password field reach the detector like any
 * others (which keeps only what matches the lexicon). The real signals are on the other
 * platforms: Windows UI Automation's `IsPassword` on the focused element, and macOS secure
 * input (`IsSecureEventInputEnabled`), under which macOS withholds the keys from hooks
 * altogether.
 */
export class X11TypingSource extends UiohookTypingSource {
  constructor(options: X11TypingSourceOptions = {}) {
    super({ layout: options.layout ?? 'detect', platform: x11TypingPlatform });
  }
}

/** The X11 side of the typing source: RECORD first, then the layout and Caps Lock from the X server. */
export const x11TypingPlatform: TypingPlatform = {
  async prepare({ detectLayout }): Promise<TypingPreparation> {
    const display = process.env['DISPLAY'];
    if (display === undefined || display === '') {
      return refuse(
        'TYPING_SOURCE_FAILED',
        'DISPLAY is not set, so there is no X server to watch: start the agent inside the X session.',
      );
    }
    const record = await checkXExtension(display, 'RECORD');
    if (!record.ok) {
      return refuse(
        'TYPING_SOURCE_FAILED',
        record.reason === 'tool_missing'
          ? 'xdpyinfo is missing (Debian package x11-utils), so the X RECORD extension cannot be checked; the keyboard hook is not started because without RECORD it aborts the agent. Install x11-utils.'
          : `Cannot connect to the X server at ${display} to check for the RECORD extension: is the session still running?`,
      );
    }
    if (!record.present) {
      return refuse(
        'TYPING_SOURCE_NO_RECORD',
        `The X server at ${display} has no RECORD extension, which the keyboard hook needs, so typed text is not watched. Enable RECORD (Xorg loads it by default; for Xvfb pass +extension RECORD) and restart the agent.`,
      );
    }
    const [layout, capsLock] = await Promise.all([
      detectLayout ? detectKeyboardLayout(display) : null,
      readCapsLock(display),
    ]);
    return { ok: true, layout, capsLock };
  },
  loadHint: 'Check that libxtst6 and libx11 are installed.',
};

function refuse(
  code: 'TYPING_SOURCE_FAILED' | 'TYPING_SOURCE_NO_RECORD',
  message: string,
): TypingPreparation {
  return { ok: false, failure: { code, message } };
}
