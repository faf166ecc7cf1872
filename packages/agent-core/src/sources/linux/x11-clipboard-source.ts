import { createHash } from 'node:crypto';

import type { SourceState } from '@lantern/protocol';

import { deliver } from '../deliver.ts';
import type { SourceFailure } from '../errors.ts';
import type { ClipboardSource } from '../source.ts';
import { cutText, decodeClipboardText } from '../text.ts';
import { realTimers, type Timers } from '../timers.ts';
import { runCommand, xToolEnv, type CommandResult } from './run-command.ts';
import { X11SelectionWatch } from './x11-selection-watch.ts';

export interface X11ClipboardSourceOptions {
  /** The X display to watch; defaults to `$DISPLAY`. */
  readonly display?: string;
  /** How often the clipboard is read where the X server cannot tell of changes, in ms. Default 500. */
  readonly pollIntervalMs?: number;
  /** How often it is read anyway where it can (see the class comment), in ms. Default 60,000. */
  readonly recheckIntervalMs?: number;
  /** Longer clipboard text is cut to this many UTF-16 code units. Default 10,000. */
  readonly maxChars?: number;
  /** How long one read may take before it is abandoned (an owner that hangs), in ms. */
  readonly readTimeoutMs?: number;
  /** Timers for the timed reads; tests pass their own to run one at a time. */
  readonly timers?: Timers;
}

const DEFAULT_POLL_INTERVAL_MS = 500;
const DEFAULT_RECHECK_INTERVAL_MS = 60_000;
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
 * The X server says when the clipboard changes hands: every copy makes the copying app the
 * selection's owner, and the XFixes extension reports that (`X11SelectionWatch`). Each such
 * event is followed by one read, `xclip -o -selection clipboard -t UTF8_STRING`, so nothing
 * runs while nobody copies, and no copy is missed however soon another follows it. The
 * clipboard is also read every 60 s (`recheckIntervalMs`), for an owner that changes its
 * text without claiming the clipboard again. Where XFixes cannot be used (no XFIXES, a
 * remote display, a connection refused or lost) the source polls instead, every 500 ms
 * (`pollIntervalMs`): a copy overwritten within half a second is missed, and each poll is a
 * short process and a conversion by the owning app. The owner's TIMESTAMP target cannot
 * stand in for reading the text: owners such as xclip answer every target with the same data.
 * Reads never overlap: a change during a read is read again after it.
 *
 * Change is detected by a SHA-256 of the text; only that digest is kept between reads, never
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
  readonly #recheckIntervalMs: number;
  readonly #maxChars: number;
  readonly #readTimeoutMs: number;
  #state: SourceState = 'stopped';
  #error: SourceFailure | null = null;
  readonly #timers: Timers;
  #timer: unknown = null;
  /** The timed read in progress (tests' timers wait for it through the next schedule). */
  #inFlight: Promise<void> | null = null;
  /** The read in progress, and whether another must follow it. */
  #reading: Promise<void> | null = null;
  #readAgain = false;
  #abort: AbortController | null = null;
  #watch: X11SelectionWatch | null = null;
  #lastDigest: string | null = null;

  constructor(options: X11ClipboardSourceOptions = {}) {
    this.#display = options.display ?? process.env['DISPLAY'];
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#recheckIntervalMs = options.recheckIntervalMs ?? DEFAULT_RECHECK_INTERVAL_MS;
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

  /** Whether the X server tells the source of each change (XFixes); if not, it polls. */
  get changeEvents(): boolean {
    return this.#watch !== null;
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
    const { signal } = abort;

    // Watching first, then the baseline: a copy in between is read after the baseline.
    let changed = false;
    const opened = await X11SelectionWatch.open({
      display,
      selection: 'CLIPBOARD',
      onChange: () => {
        if (this.#state === 'running') void this.#readNow(display, signal, onEvent);
        else changed = true;
      },
      onClosed: () => {
        // Lost (the server went away, or dropped us): poll, and a first read at once tells which.
        this.#watch = null;
        if (signal.aborted || this.#state !== 'running') return;
        this.#schedule(display, signal, onEvent);
        void this.#readNow(display, signal, onEvent);
      },
    });
    if (opened.ok) {
      if (signal.aborted) {
        await opened.watch.close(); // stopped meanwhile
        return;
      }
      this.#watch = opened.watch;
    }

    const firstRead = this.#read(display, signal);
    this.#inFlight = firstRead.then(() => undefined);
    const first = await firstRead;
    if (signal.aborted) return; // stopped meanwhile
    if (first.kind === 'fatal') {
      this.#fail(first.message);
      return;
    }
    this.#lastDigest = first.kind === 'text' ? first.digest : null;
    this.#state = 'running';
    this.#schedule(display, signal, onEvent);
    if (changed) void this.#readNow(display, signal, onEvent);
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#abort = null;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    const watch = this.#watch;
    this.#watch = null;
    const inFlight = this.#inFlight;
    this.#inFlight = null;
    await Promise.all([watch?.close(), inFlight, this.#reading]);
    this.#lastDigest = null;
    this.#state = 'stopped';
  }

  /** The next timed read: soon when polling, seldom when the X server reports changes. */
  #schedule(display: string, signal: AbortSignal, onEvent: (text: string) => void): void {
    if (signal.aborted) return;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(
      () => {
        this.#timer = null;
        this.#inFlight = this.#readNow(display, signal, onEvent).then(() =>
          this.#schedule(display, signal, onEvent),
        );
      },
      this.#watch ? this.#recheckIntervalMs : this.#pollIntervalMs,
    );
  }

  /**
   * Read the clipboard now and report a change; resolves after a read that started after this
   * call. Reads never overlap: asked during one, another follows it.
   */
  #readNow(display: string, signal: AbortSignal, onEvent: (text: string) => void): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#readAgain = false;
          const read = await this.#read(display, signal);
          if (signal.aborted) return;
          if (read.kind === 'fatal') {
            this.#fail(read.message);
            return;
          }
          if (read.kind === 'none') this.#lastDigest = null;
          if (read.kind === 'text' && read.digest !== this.#lastDigest) {
            this.#lastDigest = read.digest;
            if (read.text.trim() !== '') deliver(onEvent, read.text);
          }
        } while (this.#readAgain);
      } finally {
        // In the same turn as the loop's last check, so a request is never left unserved.
        this.#reading = null;
      }
    };
    this.#reading = run();
    return this.#reading;
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
    const watch = this.#watch;
    this.#watch = null;
    void watch?.close();
  }
}
