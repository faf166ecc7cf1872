import type { ClipboardRead, ClipboardReader } from '../clipboard-poller.ts';
import { DEFAULT_CLIPBOARD_MAX_CHARS } from '../clipboard-poller.ts';
import { runCommand, type CommandRunner } from '../command-runner.ts';
import { cutText, decodeClipboardText } from '../text.ts';
import { xToolEnv } from './run-command.ts';

export interface XclipReaderOptions {
  /** The X display to read; defaults to `$DISPLAY`. */
  readonly display?: string | undefined;
  /** Text is cut to this many UTF-16 code units, and at most 4 × this many bytes are read. */
  readonly maxChars?: number;
  /** How long one read may take before it is abandoned (an owner that hangs), in ms. */
  readonly readTimeoutMs?: number;
  /** Runs xclip; tests may pass their own. */
  readonly run?: CommandRunner;
}

/**
 * Reads the X11 CLIPBOARD selection as UTF-8 text with `xclip -o -t UTF8_STRING`, for
 * `PollingClipboardSource` (the same reads `X11ClipboardSource` makes).
 *
 * Only CLIPBOARD, not PRIMARY: PRIMARY changes with every mouse selection, including
 * highlighting text the pupil is only reading; it would flood the detector, and Windows and
 * macOS have no such selection. The owner's TIMESTAMP target cannot stand in for reading the
 * text: owners such as xclip answer every target with the same data. Text with NUL bytes or
 * invalid UTF-8 (binary data offered as text) is not text.
 */
export class XclipReader implements ClipboardReader {
  readonly #display: string | undefined;
  readonly #maxChars: number;
  readonly #readTimeoutMs: number;
  readonly #run: CommandRunner;

  constructor(options: XclipReaderOptions = {}) {
    this.#display = options.display ?? process.env['DISPLAY'];
    this.#maxChars = options.maxChars ?? DEFAULT_CLIPBOARD_MAX_CHARS;
    this.#readTimeoutMs = options.readTimeoutMs ?? 2_000;
    this.#run = options.run ?? runCommand;
  }

  async read(signal: AbortSignal): Promise<ClipboardRead> {
    const display = this.#display;
    if (display === undefined || display === '') {
      return {
        kind: 'fatal',
        message:
          'DISPLAY is not set, so there is no X clipboard to watch: start the agent inside the X session.',
      };
    }
    const result = await this.#run(
      'xclip',
      ['-display', display, '-selection', 'clipboard', '-o', '-t', 'UTF8_STRING'],
      {
        timeoutMs: this.#readTimeoutMs,
        // Enough bytes for maxChars characters of any width (UTF-8 is at most 4 bytes a character).
        maxStdoutBytes: this.#maxChars * 4,
        env: xToolEnv(display),
        signal,
      },
    );
    if (!result.ok) {
      if (result.reason === 'not_found') {
        return {
          kind: 'fatal',
          message:
            'xclip is missing (Debian package xclip), so the clipboard cannot be read: install xclip.',
        };
      }
      if (result.reason === 'timeout') return { kind: 'skip' };
      if (/can't open display/i.test(result.stderr)) {
        return {
          kind: 'fatal',
          message: `Cannot connect to the X server at ${display} to read the clipboard: the session has ended or refused the connection.`,
        };
      }
      // xclip exits 1 when the clipboard is empty or holds no text (an image, files).
      return { kind: 'none' };
    }
    const text = decodeClipboardText(result.stdout, result.truncated);
    return text === null ? { kind: 'none' } : { kind: 'text', text: cutText(text, this.#maxChars) };
  }

  async close(): Promise<void> {
    // Nothing held between reads: each read is its own short xclip.
  }
}
