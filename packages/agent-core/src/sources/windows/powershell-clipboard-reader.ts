import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import {
  DEFAULT_CLIPBOARD_MAX_CHARS,
  PollingClipboardSource,
  type ClipboardRead,
  type ClipboardReader,
} from '../clipboard-poller.ts';
import { cutText, decodeClipboardText } from '../text.ts';
import type { Timers } from '../timers.ts';

/**
 * The helper's loop: for each line read on stdin (a request number), read the clipboard
 * and answer on one line, `<number> T <base64 of the UTF-8 text>`, `<number> N` (no text),
 * or `<number> E <exception type>` (the clipboard was busy). Base64 keeps the answer on one
 * line and out of reach of the console's code page; the request number pairs each answer
 * with its request, so nothing else PowerShell might print is taken for one. `__MAX__` is
 * replaced by the number of characters to keep (one more than the limit, so a character
 * split at the limit is dropped whole on our side).
 */
export const POWERSHELL_CLIPBOARD_SCRIPT = `$ErrorActionPreference = 'Stop'
$max = __MAX__
$utf8 = New-Object System.Text.UTF8Encoding $false
while ($true) {
  $request = [Console]::In.ReadLine()
  if ($null -eq $request) { break }
  try {
    $text = Get-Clipboard -Raw
    if ([string]::IsNullOrEmpty($text)) { $answer = 'N' }
    else {
      if ($text.Length -gt $max) { $text = $text.Substring(0, $max) }
      $answer = 'T ' + [Convert]::ToBase64String($utf8.GetBytes($text))
    }
  } catch {
    $answer = 'E ' + $_.Exception.GetType().Name
  }
  [Console]::Out.WriteLine($request.Trim() + ' ' + $answer)
  [Console]::Out.Flush()
}
`;

/** `-EncodedCommand` takes the script as base64 of UTF-16LE: no quoting of a multi-line script on a Windows command line. */
export function encodePowerShellCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/** The helper's command line: Windows PowerShell 5.1, which every supported Windows has. */
export function powerShellClipboardCommand(maxChars: number): {
  file: string;
  args: string[];
} {
  const script = POWERSHELL_CLIPBOARD_SCRIPT.replace('__MAX__', String(maxChars + 1));
  return {
    file: 'powershell.exe',
    args: [
      '-NoLogo',
      '-NoProfile',
      '-NonInteractive',
      '-EncodedCommand',
      encodePowerShellCommand(script),
    ],
  };
}

/** One answer line → what it says about the clipboard, for request `request`; null when it is not that request's answer. */
export function parseClipboardAnswer(
  line: string,
  request: number,
  maxChars: number,
): ClipboardRead | null {
  const match = /^(\d+) ([TNE])(?: (.*))?$/.exec(line.trim());
  if (match === null || Number(match[1]) !== request) return null;
  if (match[2] === 'N') return { kind: 'none' };
  // The clipboard is held open by another program for a moment: ask again next time.
  if (match[2] === 'E') return { kind: 'skip' };
  const text = decodeClipboardText(Buffer.from(match[3] ?? '', 'base64'), false);
  if (text === null || text === '') return { kind: 'none' };
  return { kind: 'text', text: cutText(text, maxChars) };
}

export interface PowerShellClipboardReaderOptions {
  /** Text is cut to this many UTF-16 code units (PowerShell sends at most one more). */
  readonly maxChars?: number;
  /** The helper to run: PowerShell with the script above by default; tests run a stand-in speaking the same lines. */
  readonly command?: { readonly file: string; readonly args: readonly string[] };
  /** How long the helper may take to answer its first request (PowerShell starting), in ms. */
  readonly startTimeoutMs?: number;
  /** How long it may take to answer a later one, in ms. */
  readonly readTimeoutMs?: number;
  /** Helpers that in a row die or do not answer before the source fails. Default 3. */
  readonly maxFailures?: number;
}

/** A helper process asked one line at a time. */
interface Helper {
  readonly child: ChildProcess;
  /** The answer lines not yet taken. */
  readonly lines: string[];
  wake: (() => void) | null;
  exited: boolean;
  notFound: boolean;
  /** Whether it has answered once (it has started). */
  answered: boolean;
}

/**
 * Reads the Windows clipboard through one long-lived PowerShell helper, asked once per read
 * over its stdin: starting PowerShell costs 0.3–1 s and a good part of a core, too much for
 * every 500 ms poll, while a read in a running helper costs a few ms. The helper is started
 * at the first read and again after it dies or stops answering; after `maxFailures` helpers
 * in a row have failed, the reader gives up (`fatal`), e.g. where PowerShell is blocked or
 * runs in Constrained Language Mode, which forbids the .NET calls of the script.
 */
export class PowerShellClipboardReader implements ClipboardReader {
  readonly #maxChars: number;
  readonly #command: { readonly file: string; readonly args: readonly string[] };
  readonly #startTimeoutMs: number;
  readonly #readTimeoutMs: number;
  readonly #maxFailures: number;
  #helper: Helper | null = null;
  #failures = 0;
  #request = 0;

  constructor(options: PowerShellClipboardReaderOptions = {}) {
    this.#maxChars = options.maxChars ?? DEFAULT_CLIPBOARD_MAX_CHARS;
    this.#command = options.command ?? powerShellClipboardCommand(this.#maxChars);
    this.#startTimeoutMs = options.startTimeoutMs ?? 20_000;
    this.#readTimeoutMs = options.readTimeoutMs ?? 2_000;
    this.#maxFailures = options.maxFailures ?? 3;
  }

  async read(signal: AbortSignal): Promise<ClipboardRead> {
    if (signal.aborted) return { kind: 'skip' };
    // A helper that died since the last read is replaced (one that dies before answering counts as a failure below).
    if (this.#helper?.exited) this.#helper = null;
    const helper = this.#helper ?? this.#start();
    this.#request += 1;
    const request = this.#request;
    const timeoutMs = helper.answered ? this.#readTimeoutMs : this.#startTimeoutMs;
    helper.child.stdin?.write(`${request}\n`);

    const answer = await this.#answer(helper, request, timeoutMs, signal);
    if (answer !== null) {
      helper.answered = true;
      this.#failures = 0;
      return answer;
    }
    if (signal.aborted) return { kind: 'skip' };
    if (helper.notFound) {
      return {
        kind: 'fatal',
        message:
          'powershell.exe is missing or may not be started, so the clipboard cannot be read: the Windows clipboard source needs Windows PowerShell.',
      };
    }
    // Died, or hung: start another next time.
    void this.#stop(helper);
    this.#failures += 1;
    if (this.#failures < this.#maxFailures) return { kind: 'skip' };
    return {
      kind: 'fatal',
      message: `The PowerShell clipboard helper ${helper.exited ? 'exited' : 'stopped answering'} ${this.#failures} times in a row, so the clipboard cannot be read: check that PowerShell may run for the pupil (not blocked by AppLocker, not in Constrained Language Mode).`,
    };
  }

  async close(): Promise<void> {
    const helper = this.#helper;
    if (helper) await this.#stop(helper);
  }

  #start(): Helper {
    const child = spawn(this.#command.file, [...this.#command.args], {
      stdio: ['pipe', 'pipe', 'ignore'],
      windowsHide: true,
    });
    const helper: Helper = {
      child,
      lines: [],
      wake: null,
      exited: false,
      notFound: false,
      answered: false,
    };
    const wake = (): void => {
      const waiting = helper.wake;
      helper.wake = null;
      waiting?.();
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      helper.notFound = error.code === 'ENOENT' || error.code === 'EACCES';
      helper.exited = true;
      wake();
    });
    child.on('exit', () => {
      helper.exited = true;
      wake();
    });
    // Writing to a helper that has just died: the exit above reports it.
    child.stdin?.on('error', () => {});
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        helper.lines.push(line);
        wake();
      });
    }
    this.#helper = helper;
    return helper;
  }

  /** Wait for request `request`'s answer; null when the helper died, did not answer in time, or the read was aborted. */
  async #answer(
    helper: Helper,
    request: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ClipboardRead | null> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    for (;;) {
      for (let line = helper.lines.shift(); line !== undefined; line = helper.lines.shift()) {
        const answer = parseClipboardAnswer(line, request, this.#maxChars);
        if (answer !== null) return answer;
        // Anything else (an earlier request's late answer, stray output) is dropped.
      }
      if (helper.exited || deadline.aborted) return null;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          deadline.removeEventListener('abort', done);
          resolve();
        };
        helper.wake = done;
        deadline.addEventListener('abort', done, { once: true });
      });
    }
  }

  async #stop(helper: Helper): Promise<void> {
    if (this.#helper === helper) this.#helper = null;
    const { child } = helper;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // End of input ends the script's loop; a helper that does not notice is killed.
    child.stdin?.end();
    const timer = setTimeout(() => child.kill(), 2_000);
    timer.unref();
    await exited;
    clearTimeout(timer);
  }
}

export interface WindowsClipboardSourceOptions extends PowerShellClipboardReaderOptions {
  /** How often the clipboard is read, in ms. Default 500. */
  readonly pollIntervalMs?: number;
  readonly timers?: Timers;
}

/** Text copied on Windows, emitted once per change: `PollingClipboardSource` over the PowerShell helper. */
export class WindowsClipboardSource extends PollingClipboardSource {
  constructor(options: WindowsClipboardSourceOptions = {}) {
    super({
      reader: new PowerShellClipboardReader(options),
      pollIntervalMs: options.pollIntervalMs,
      maxChars: options.maxChars,
      timers: options.timers,
    });
  }
}
