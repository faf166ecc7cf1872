import {
  DEFAULT_CLIPBOARD_MAX_CHARS,
  PollingClipboardSource,
  type ClipboardRead,
  type ClipboardReader,
} from '../clipboard-poller.ts';
import { runCommand, type CommandRunner } from '../command-runner.ts';
import { cutText, decodeClipboardText } from '../text.ts';
import type { Timers } from '../timers.ts';

export interface PbpasteReaderOptions {
  /** Text is cut to this many UTF-16 code units, and at most 4 × this many bytes are read. */
  readonly maxChars?: number;
  /** How long one read may take, in ms. */
  readonly readTimeoutMs?: number;
  /** Runs pbpaste; tests pass one that answers as pbpaste does. */
  readonly run?: CommandRunner;
}

/**
 * pbpaste writes the text in the encoding its locale names, and a process started by
 * launchd often has no locale: then anything beyond ASCII comes out mangled. UTF-8 is asked
 * for explicitly.
 */
const PBPASTE_ENV = { LANG: 'en_US.UTF-8', LC_ALL: 'en_US.UTF-8' } as const;

/**
 * Reads the general pasteboard's plain text with `pbpaste -Prefer txt`: a few ms per read,
 * cheaper than asking AppKit for the pasteboard's `changeCount` through `osascript`, which
 * starts a scripting runtime each time (~100 ms). pbpaste prints nothing, and exits 0, when
 * the pasteboard is empty or holds no text (an image, files).
 */
export class PbpasteReader implements ClipboardReader {
  readonly #maxChars: number;
  readonly #readTimeoutMs: number;
  readonly #run: CommandRunner;

  constructor(options: PbpasteReaderOptions = {}) {
    this.#maxChars = options.maxChars ?? DEFAULT_CLIPBOARD_MAX_CHARS;
    this.#readTimeoutMs = options.readTimeoutMs ?? 2_000;
    this.#run = options.run ?? runCommand;
  }

  async read(signal: AbortSignal): Promise<ClipboardRead> {
    const result = await this.#run('pbpaste', ['-Prefer', 'txt'], {
      timeoutMs: this.#readTimeoutMs,
      maxStdoutBytes: this.#maxChars * 4,
      env: { ...process.env, ...PBPASTE_ENV },
      signal,
    });
    if (!result.ok) {
      if (result.reason === 'timeout') return { kind: 'skip' };
      return {
        kind: 'fatal',
        message:
          result.reason === 'not_found'
            ? 'pbpaste is missing, so the clipboard cannot be read: the macOS clipboard source runs on macOS only.'
            : `pbpaste failed (exit code ${String(result.exitCode)}), so the clipboard cannot be read: the agent must run in the pupil's login session, not as a system daemon.`,
      };
    }
    const text = decodeClipboardText(result.stdout, result.truncated);
    if (text === null || text === '') return { kind: 'none' };
    return { kind: 'text', text: cutText(text, this.#maxChars) };
  }

  async close(): Promise<void> {
    // Nothing held between reads: each read is its own short pbpaste.
  }
}

export interface MacClipboardSourceOptions extends PbpasteReaderOptions {
  /** How often the clipboard is read, in ms. Default 500. */
  readonly pollIntervalMs?: number;
  readonly timers?: Timers;
}

/** Text copied on macOS, emitted once per change: `PollingClipboardSource` over `pbpaste`. */
export class MacClipboardSource extends PollingClipboardSource {
  constructor(options: MacClipboardSourceOptions = {}) {
    super({
      reader: new PbpasteReader(options),
      pollIntervalMs: options.pollIntervalMs,
      maxChars: options.maxChars,
      timers: options.timers,
    });
  }
}
