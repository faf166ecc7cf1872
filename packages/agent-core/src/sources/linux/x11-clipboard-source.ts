import { createHash } from 'node:crypto';

import type { SourceState } from '@lantern/protocol';

import { deliver } from '../deliver.ts';
import type { SourceFailure } from '../errors.ts';
import type { ClipboardSource } from '../source.ts';
import { realTimers, type Timers } from '../timers.ts';
import { runCommand, xToolEnv, type CommandResult } from './run-command.ts';

export interface X11ClipboardSourceOptions {
  /** The X display to watch; defaults to `$DISPLAY`. */
  readonly display?: string;
  /** How often the clipboard is read, in ms. Default 500: see the class comment. */
  readonly pollIntervalMs?: number;
  /** Longer clipboard text is cut to this many UTF-16 code units. Default 10,000. */
  readonly maxChars?: number;
  /** How long one read may take before it is abandoned (an owner that hangs), in ms. */
  readonly readTimeoutMs?: number;
  /** Timers for the polling; tests pass their own to run one poll at a time. */
  readonly timers?: Timers;
}

const DEFAULT_POLL_INTERVAL_MS = 500;
const DEFAULT_MAX_CHARS = 10_000;
const DEFAULT_READ_TIMEOUT_MS = 2_000;

/** What one read of the clipboard found. */
type ClipboardRead =
  | { readonly kind: 'text'; readonly text: string; readonly digest: string }
  /** Nothing, or something that is not text (an image, files): it replaces the last text. */
  | { readonly kind: 'none' }
  /** The owner did not answer in time: try again next time, change nothing. */
  | { readonly kind: 'skip' }
  | { readonly kind: 'fatal'; readonly message: string };

/**
 * Text copied to the X11 CLIPBOARD selection, emitted once per change.
 *
 * X11 has no clipboard-change event without an XFixes client of our own, so this polls:
 * `xclip -o -selection clipboard -t UTF8_STRING` every 500 ms. A copy is a human action
 * seconds apart from the next, so 500 ms misses only a copy overwritten within half a second,
 * and the cost is one short process (and one conversion by the owning app) per poll. The
 * owner's TIMESTAMP target cannot stand in for reading the text: owners such as xclip answer
 * every target with the same data.
 *
 * Change is detected by a SHA-256 of the text; only that digest is kept between polls, never
 * the text, which goes to `onEvent` and is dropped. What is on the clipboard when the source
 * starts is the baseline and not reported (it was copied before monitoring began, and a
 * restarted agent must not report it twice). Text is cut to `maxChars`, and at most
 * `4 × maxChars` bytes are read, so a huge clipboard costs no more than a small one here.
 * Non-text content and text with NUL bytes or invalid UTF-8 (binary data offered as text)
 * are not reported. Empty or whitespace-only text is not reported.
 *
 * Only CLIPBOARD, not PRIMARY: PRIMARY changes with every mouse selection, including
 * highlighting text the pupil is only reading, which is not something they wrote or copied
 * to use; it would flood the detector, and Windows and macOS have no such selection, so
 * the same school policy would mean different things by platform.
 */
export class X11ClipboardSource implements ClipboardSource {
  readonly #display: string | undefined;
  readonly #pollIntervalMs: number;
  readonly #maxChars: number;
  readonly #readTimeoutMs: number;
  #state: SourceState = 'stopped';
  #error: SourceFailure | null = null;
  readonly #timers: Timers;
  #timer: unknown = null;
  #inFlight: Promise<void> | null = null;
  #abort: AbortController | null = null;
  #lastDigest: string | null = null;

  constructor(options: X11ClipboardSourceOptions = {}) {
    this.#display = options.display ?? process.env['DISPLAY'];
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
    this.#readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    this.#timers = options.timers ?? realTimers;
  }

  get state(): SourceState {
    return this.#state;
  }

  get error(): SourceFailure | null {
    return this.#error;
  }

  async start(onEvent: (text: string) => void): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') return;
    const display = this.#display;
    if (display === undefined || display === '') {
      this.#fail(
        'DISPLAY is not set, so there is no X clipboard to watch: start the agent inside the X session.',
      );
      return;
    }
    this.#state = 'starting';
    this.#error = null;
    const abort = new AbortController();
    this.#abort = abort;

    // The first read is the baseline.
    const firstRead = this.#read(display, abort.signal);
    this.#inFlight = firstRead.then(() => undefined);
    const first = await firstRead;
    if (abort.signal.aborted) return; // stopped meanwhile
    if (first.kind === 'fatal') {
      this.#fail(first.message);
      return;
    }
    this.#lastDigest = first.kind === 'text' ? first.digest : null;
    this.#state = 'running';

    const poll = async (): Promise<void> => {
      const read = await this.#read(display, abort.signal);
      if (abort.signal.aborted) return;
      if (read.kind === 'fatal') {
        this.#fail(read.message);
        return;
      }
      if (read.kind === 'none') this.#lastDigest = null;
      if (read.kind === 'text' && read.digest !== this.#lastDigest) {
        this.#lastDigest = read.digest;
        if (read.text.trim() !== '') deliver(onEvent, read.text);
      }
      schedule();
    };
    const schedule = (): void => {
      if (abort.signal.aborted) return;
      this.#timer = this.#timers.setTimeout(() => {
        this.#inFlight = poll();
      }, this.#pollIntervalMs);
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#abort = null;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    const inFlight = this.#inFlight;
    this.#inFlight = null;
    await inFlight;
    this.#lastDigest = null;
    this.#state = 'stopped';
  }

  async #read(display: string, signal: AbortSignal): Promise<ClipboardRead> {
    const result = await runCommand(
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
    return this.#interpret(result, display);
  }

  #interpret(result: CommandResult, display: string): ClipboardRead {
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
    if (text === null) return { kind: 'none' };
    const digest = createHash('sha256').update(result.stdout).digest('hex');
    return { kind: 'text', text: cutText(text, this.#maxChars), digest };
  }

  #fail(message: string): void {
    this.#state = 'failed';
    this.#error = { code: 'CLIPBOARD_SOURCE_FAILED', message };
    this.#abort?.abort();
    this.#abort = null;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The clipboard bytes as text, or null when they are not text: invalid UTF-8 or NUL bytes
 * (an owner that answers every target with the same binary data). When the read was cut
 * short, an incomplete character at the very end is dropped first.
 */
export function decodeClipboardText(bytes: Uint8Array, truncated: boolean): string | null {
  const whole = truncated ? bytes.subarray(0, completeUtf8Length(bytes)) : bytes;
  let text: string;
  try {
    text = utf8Strict.decode(whole);
  } catch {
    // Not UTF-8: binary content offered under a text target.
    return null;
  }
  return text.includes('\0') ? null : text;
}

/** The length of `bytes` without a UTF-8 sequence cut off at its end. */
function completeUtf8Length(bytes: Uint8Array): number {
  // Look back over at most 3 continuation bytes (10xxxxxx) to the sequence's lead byte.
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

function cutText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const last = text.charCodeAt(maxChars - 1);
  // Do not split a surrogate pair (an emoji) in half.
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars);
}
