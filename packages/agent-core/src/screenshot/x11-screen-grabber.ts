import type { SourceState } from '@lantern/protocol';

import { SourceError } from '../sources/errors.ts';
import { runCommand, xToolEnv } from '../sources/linux/run-command.ts';
import type { RawScreenshot, ScreenGrabber } from '../sources/source.ts';
import { decodeXwd } from './xwd.ts';

export interface X11ScreenGrabberOptions {
  /** The X display to grab; defaults to `$DISPLAY`. */
  readonly display?: string;
  /** How long one grab may take, in ms. Default 10,000. */
  readonly timeoutMs?: number;
}

/** An 8192×8192 screen at 32 bits a pixel (MAX_SCREENSHOT_EDGE_PX on both sides), plus header room. */
const MAX_DUMP_BYTES = 8192 * 8192 * 4 + 1024 * 1024;

/**
 * Grabs the whole X screen (the root window, every monitor) with `xwd -root -silent`
 * (Debian package x11-apps) and decodes the XWD dump itself: no image library and no
 * PNG round trip, so a 1280×800 grab is one process and a byte copy. `state` is `running`
 * until a grab fails (`failed`, and back to `running` after one succeeds); `unsupported`
 * when there is no X display.
 */
export class X11ScreenGrabber implements ScreenGrabber {
  readonly #display: string | undefined;
  readonly #timeoutMs: number;
  #state: SourceState;

  constructor(options: X11ScreenGrabberOptions = {}) {
    const display = options.display ?? process.env['DISPLAY'];
    this.#display = display === '' ? undefined : display;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#state = this.#display === undefined ? 'unsupported' : 'running';
  }

  get state(): SourceState {
    return this.#state;
  }

  /**
   * Take a picture of the screen now, as RGB pixels. Throws a `SourceError`:
   * `SCREENSHOT_GRAB_FAILED` (no display, xwd missing or failing) or
   * `SCREENSHOT_FORMAT_UNSUPPORTED` (a palette display).
   */
  async grab(options: { signal?: AbortSignal } = {}): Promise<RawScreenshot> {
    const display = this.#display;
    if (display === undefined) {
      throw new SourceError(
        'SCREENSHOT_GRAB_FAILED',
        'DISPLAY is not set, so there is no X screen to grab: start the agent inside the X session.',
      );
    }
    const attempt = () =>
      runCommand('xwd', ['-display', display, '-root', '-silent'], {
        timeoutMs: this.#timeoutMs,
        maxStdoutBytes: MAX_DUMP_BYTES,
        env: xToolEnv(display),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    let result = await attempt();
    // A window closing while xwd walks the screen makes it fail now and then (an X error
    // on a window that is gone): one more try, which a session that has ended also fails.
    if (!result.ok && result.reason !== 'not_found' && result.reason !== 'timeout')
      result = await attempt();
    try {
      if (!result.ok) {
        throw new SourceError(
          'SCREENSHOT_GRAB_FAILED',
          result.reason === 'not_found'
            ? 'xwd is missing (Debian package x11-apps), so the screen cannot be grabbed: install x11-apps.'
            : result.reason === 'timeout'
              ? `xwd took longer than ${this.#timeoutMs} ms to grab the screen of ${display}, or was cancelled.`
              : `xwd could not grab the screen of ${display} (exit code ${String(result.exitCode)}): is the session still running?`,
        );
      }
      if (result.truncated) {
        throw new SourceError(
          'SCREENSHOT_GRAB_FAILED',
          `The screen of ${display} is larger than 8192×8192 pixels; it is not grabbed.`,
        );
      }
      const screenshot = decodeXwd(result.stdout);
      this.#state = 'running';
      return screenshot;
    } catch (error) {
      this.#state = 'failed';
      throw error;
    }
  }
}
