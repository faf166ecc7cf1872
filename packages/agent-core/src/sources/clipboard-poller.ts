import { createHash } from 'node:crypto';

import type { SourceState } from '@lantern/protocol';

import { deliver } from './deliver.ts';
import type { SourceFailure } from './errors.ts';
import { PollLoop, type PollOutcome } from './poll-loop.ts';
import type { ClipboardSource } from './source.ts';
import { cutText } from './text.ts';
import { realTimers, type Timers } from './timers.ts';

/** What one read of the clipboard found. */
export type ClipboardRead =
  /** Text, already decoded (and cut to the reader's limit). */
  | { readonly kind: 'text'; readonly text: string }
  /** Nothing, or something that is not text (an image, files): it replaces the last text. */
  | { readonly kind: 'none' }
  /** No answer this time (the owner hung, the clipboard was busy): try again, change nothing. */
  | { readonly kind: 'skip' }
  /** The clipboard cannot be read at all: the source fails with CLIPBOARD_SOURCE_FAILED. */
  | { readonly kind: 'fatal'; readonly message: string };

/** Reads the clipboard once per call, with the platform's tool. */
export interface ClipboardReader {
  read(signal: AbortSignal): Promise<ClipboardRead>;
  /** Release what the reader holds (a long-lived helper process). Idempotent. */
  close(): Promise<void>;
}

export interface PollingClipboardSourceOptions {
  readonly reader: ClipboardReader;
  /** How often the clipboard is read, in ms. Default 500: a copy overwritten sooner is missed. */
  readonly pollIntervalMs?: number;
  /** Longer text is cut to this many UTF-16 code units. Default 10,000 (the readers are given the same). */
  readonly maxChars?: number;
  /** Timers for the polling; tests pass their own to run one poll at a time. */
  readonly timers?: Timers;
}

export const DEFAULT_CLIPBOARD_POLL_INTERVAL_MS = 500;
export const DEFAULT_CLIPBOARD_MAX_CHARS = 10_000;

/**
 * Text copied to the clipboard, emitted once per change, whatever reads it (`pbpaste` on
 * macOS, a PowerShell helper on Windows, `xclip` where X11 cannot report changes): none of
 * them has a change event without a native client of our own, so this polls, every 500 ms
 * by default. A copy overwritten within one poll is missed.
 *
 * Change is detected by `ClipboardChangeTracker`, from a SHA-256 of the text; only that
 * digest is kept between polls, never the text, which goes to `onEvent` and is dropped. What
 * is on the clipboard when the source starts is the baseline and not reported (it was copied
 * before monitoring began, and a restarted agent must not report it twice). The same text
 * copied again is not a change; copied again after something else (text, an image, or
 * nothing) it is. Empty or whitespace-only text is not reported.
 */
export class PollingClipboardSource implements ClipboardSource {
  readonly #reader: ClipboardReader;
  readonly #pollIntervalMs: number;
  readonly #maxChars: number;
  readonly #timers: Timers;
  #state: SourceState = 'stopped';
  #error: SourceFailure | null = null;
  #loop: PollLoop | null = null;

  constructor(options: PollingClipboardSourceOptions) {
    this.#reader = options.reader;
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_CLIPBOARD_POLL_INTERVAL_MS;
    this.#maxChars = options.maxChars ?? DEFAULT_CLIPBOARD_MAX_CHARS;
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
    this.#state = 'starting';
    this.#error = null;
    const changes = new ClipboardChangeTracker();
    const loop = new PollLoop({
      intervalMs: this.#pollIntervalMs,
      timers: this.#timers,
      poll: async (signal): Promise<PollOutcome> => {
        const read = await this.#reader.read(signal);
        if (signal.aborted) return 'stop';
        if (read.kind === 'fatal') {
          this.#fail(read.message);
          return 'stop';
        }
        const text = changes.update(read);
        if (text !== null) deliver(onEvent, cutText(text, this.#maxChars));
        return 'continue';
      },
    });
    this.#loop = loop;
    const outcome = await loop.start();
    if (this.#loop === loop && outcome === 'continue') this.#state = 'running';
  }

  async stop(): Promise<void> {
    const loop = this.#loop;
    this.#loop = null;
    this.#state = 'stopped';
    await loop?.stop();
    await this.#reader.close();
  }

  #fail(message: string): void {
    this.#state = 'failed';
    this.#error = { code: 'CLIPBOARD_SOURCE_FAILED', message };
    const loop = this.#loop;
    this.#loop = null;
    void loop?.stop();
    void this.#reader.close();
  }
}

/**
 * Which reads of the clipboard are news: the first read that gets an answer is the baseline
 * (what was there before monitoring began), and after it a text is reported when it differs
 * from the last text read, or follows a read of something else (an image, nothing). Keeps a
 * SHA-256 of the last text, never the text. For any source that reads the clipboard, on a
 * timer or when told of a change.
 */
export class ClipboardChangeTracker {
  #baseline = true;
  #lastDigest: string | null = null;

  /** The text to report for `read`, or null (the baseline, no change, not text, only whitespace). */
  update(read: ClipboardRead): string | null {
    // A read that got no answer is not the baseline: the next one that does is.
    if (read.kind === 'skip' || read.kind === 'fatal') return null;
    const baseline = this.#baseline;
    this.#baseline = false;
    if (read.kind === 'none') {
      this.#lastDigest = null;
      return null;
    }
    const digest = createHash('sha256').update(read.text).digest('hex');
    if (digest === this.#lastDigest) return null;
    this.#lastDigest = digest;
    return baseline || read.text.trim() === '' ? null : read.text;
  }
}
