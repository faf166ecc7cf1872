import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type { Options as GetWindowsOptions, Result as GetWindowsResult } from 'get-windows';

import { WINDOW_TITLE_MAX_CHARS, type SourceState } from '@lantern/protocol';

import { deliver } from '../deliver.ts';
import type { SourceErrorCode, SourceFailure } from '../errors.ts';
import { PollLoop, type PollOutcome } from '../poll-loop.ts';
import type { ActiveWindow, WindowSource } from '../source.ts';
import { cutText } from '../text.ts';
import { realTimers, type Timers } from '../timers.ts';

/** get-windows' `activeWindow` (its macOS helper prints `null` for no window, hence the null). */
export type ActiveWindowReader = (
  options: GetWindowsOptions,
) => Promise<GetWindowsResult | null | undefined>;

export interface GetWindowsSourceOptions {
  /**
   * How often the active window is read, in ms. Default 250 on Windows (an in-process call
   * that costs microseconds) and 500 elsewhere (macOS starts get-windows' helper program,
   * about 20 ms of work, on every read). A focus change is seen up to this late.
   */
  readonly pollIntervalMs?: number;
  /** Timers for the polling; tests pass their own to run one poll at a time. */
  readonly timers?: Timers;
  /** The platform whose rules apply (the addon check on Windows); default `process.platform`. */
  readonly platform?: NodeJS.Platform;
  /** Reads the active window: get-windows' `activeWindow` by default; tests pass a stand-in. */
  readonly activeWindow?: ActiveWindowReader;
  /**
   * Where get-windows' Windows addon must be, checked at start on Windows: without it,
   * get-windows silently reports no window at all. Default: inside the installed package.
   */
  readonly windowsAddonPath?: string;
}

/**
 * The options passed to get-windows: no Accessibility prompt (it is only needed for browser
 * URLs, which Lantern does not read), and the Screen Recording check on, so that a missing
 * permission is reported instead of read as windows without titles.
 */
const GET_WINDOWS_OPTIONS: GetWindowsOptions = {
  accessibilityPermission: false,
  screenRecordingPermission: true,
};

/** What get-windows' macOS helper prints (and exits 1) when Screen Recording is not granted. */
const SCREEN_RECORDING_REFUSED = /requires the screen recording permission/i;
const ACCESSIBILITY_REFUSED = /requires the accessibility permission/i;

/**
 * The focused window on Windows and macOS, read with get-windows (the maintained successor of
 * active-win) every `pollIntervalMs`, and emitted when the window, its title or its app
 * changes; nothing while no window has focus. Titles are cut to WINDOW_TITLE_MAX_CHARS.
 *
 * get-windows has no change event on any platform, so this polls. It also runs on Linux/X11
 * (it starts xprop and xwininfo three times per read, on `$DISPLAY`), where
 * `X11WindowSource` is used instead: it is event-driven and reports each window's own id.
 *
 * Failures, by code:
 * - `WINDOW_SOURCE_NO_SCREEN_RECORDING` (macOS): titles need the Screen Recording permission;
 *   get-windows' helper refuses to answer without it. The source stops: macOS applies a
 *   granted permission only when the agent is started again.
 * - `WINDOW_SOURCE_FAILED`: get-windows cannot run at all (its helper program is missing
 *   or may not be executed; on Windows its addon is not installed).
 * A single read that fails otherwise (a window closing while it is read, or on Linux a
 * window without `_NET_WM_PID`) is skipped: the next read tries again.
 */
export class GetWindowsSource implements WindowSource {
  readonly #pollIntervalMs: number;
  readonly #timers: Timers;
  readonly #platform: NodeJS.Platform;
  readonly #activeWindow: ActiveWindowReader | undefined;
  readonly #windowsAddonPath: string | undefined;
  #state: SourceState = 'stopped';
  #error: SourceFailure | null = null;
  #loop: PollLoop | null = null;

  constructor(options: GetWindowsSourceOptions = {}) {
    this.#platform = options.platform ?? process.platform;
    this.#pollIntervalMs = options.pollIntervalMs ?? (this.#platform === 'win32' ? 250 : 500);
    this.#timers = options.timers ?? realTimers;
    this.#activeWindow = options.activeWindow;
    this.#windowsAddonPath = options.windowsAddonPath;
  }

  get state(): SourceState {
    return this.#state;
  }

  get error(): SourceFailure | null {
    return this.#error;
  }

  async start(onEvent: (window: ActiveWindow) => void): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') return;
    this.#state = 'starting';
    this.#error = null;

    const refused = await this.#checkInstalled();
    if (this.#state !== 'starting') return; // stopped meanwhile
    if (refused) {
      this.#fail(refused.code, refused.message);
      return;
    }
    const read = this.#activeWindow ?? (await loadActiveWindow());
    if (this.#state !== 'starting') return;

    let last: ActiveWindow | null = null;
    const loop = new PollLoop({
      intervalMs: this.#pollIntervalMs,
      timers: this.#timers,
      poll: async (signal): Promise<PollOutcome> => {
        let result: GetWindowsResult | null | undefined;
        try {
          result = await read(GET_WINDOWS_OPTIONS);
        } catch (error) {
          if (signal.aborted) return 'stop';
          const failure = classifyFailure(error);
          if (failure === null) return 'continue';
          this.#fail(failure.code, failure.message);
          return 'stop';
        }
        if (signal.aborted) return 'stop';
        // No window has focus (the desktop): wait for the next one.
        if (!result) return 'continue';
        const window = toActiveWindow(result);
        if (!sameWindow(last, window)) {
          last = window;
          deliver(onEvent, window);
        }
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
  }

  /** On Windows, whether get-windows' addon is there (without it every read answers "no window"). */
  async #checkInstalled(): Promise<SourceFailure | null> {
    if (this.#platform !== 'win32' || this.#activeWindow !== undefined) return null;
    const path = this.#windowsAddonPath ?? windowsAddonPath(process.arch);
    try {
      await access(path);
      return null;
    } catch {
      // Not there (or not readable): get-windows would silently report no window, forever.
      return {
        code: 'WINDOW_SOURCE_FAILED',
        message: `get-windows' Windows addon is missing (${path}), so the active window cannot be read: the agent's installer must bundle the prebuilt addon. Reinstall the agent.`,
      };
    }
  }

  #fail(code: SourceErrorCode, message: string): void {
    this.#state = 'failed';
    this.#error = { code, message };
    const loop = this.#loop;
    this.#loop = null;
    void loop?.stop();
  }
}

async function loadActiveWindow(): Promise<ActiveWindowReader> {
  // Loaded on first start, not at import: other platforms never load get-windows at all.
  const { activeWindow } = await import('get-windows');
  return activeWindow;
}

/**
 * Where get-windows 9 looks for its Windows addon (node-pre-gyp's `module_path` in its
 * package.json: N-API 9, the only version it builds).
 */
export function windowsAddonPath(arch: string): string {
  const entry = createRequire(import.meta.url).resolve('get-windows');
  return join(
    dirname(entry),
    'lib',
    'binding',
    `napi-9-win32-unknown-${arch}`,
    'node-get-windows.node',
  );
}

/**
 * A failed read → the source's failure, or null for one to skip. get-windows' macOS helper
 * prints why it refuses on stdout and exits 1, which reaches us as execFile's error with
 * that `stdout`; a helper that cannot be started at all gives a system error code.
 */
export function classifyFailure(error: unknown): SourceFailure | null {
  const stdout = (error as { stdout?: unknown } | null)?.stdout;
  const printed = typeof stdout === 'string' ? stdout : '';
  if (SCREEN_RECORDING_REFUSED.test(printed)) {
    return {
      code: 'WINDOW_SOURCE_NO_SCREEN_RECORDING',
      message:
        'macOS withholds window titles from the agent: it has no Screen Recording permission. Allow it in System Settings › Privacy & Security › Screen Recording (or with an MDM privacy profile), then restart the agent.',
    };
  }
  if (ACCESSIBILITY_REFUSED.test(printed)) {
    return {
      code: 'WINDOW_SOURCE_FAILED',
      message:
        'get-windows asked for the Accessibility permission, which the agent does not use: check that the agent passes accessibilityPermission: false.',
    };
  }
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return {
      code: 'WINDOW_SOURCE_FAILED',
      message: `get-windows cannot run (${code}), so the active window cannot be read: reinstall the agent.`,
    };
  }
  return null;
}

/** get-windows' result → the agent's `ActiveWindow`. */
export function toActiveWindow(result: GetWindowsResult): ActiveWindow {
  const pid = result.owner.processId;
  // Typed as strings, but on Linux get-windows gives a null title for a name it cannot parse,
  // and leaves `path` unset when /proc does not show the executable.
  const title: string | null = result.title;
  const path: string | undefined = result.owner.path;
  const appId = result.platform === 'macos' ? result.owner.bundleId || path || null : path || null;
  return {
    // macOS numbers windows (CGWindowID); HWNDs and X11 ids are written in hex, as the X11 source does.
    id: result.platform === 'macos' ? String(result.id) : `0x${result.id.toString(16)}`,
    title: cutText(title ?? '', WINDOW_TITLE_MAX_CHARS),
    appName: result.owner.name,
    appId,
    pid: Number.isSafeInteger(pid) && pid > 0 ? pid : null,
  };
}

function sameWindow(a: ActiveWindow | null, b: ActiveWindow): boolean {
  return (
    a?.id === b.id &&
    a.title === b.title &&
    a.appName === b.appName &&
    a.appId === b.appId &&
    a.pid === b.pid
  );
}
