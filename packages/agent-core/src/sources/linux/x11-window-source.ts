import type { ChildProcess } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';

import { WINDOW_TITLE_MAX_CHARS, type SourceState } from '@lantern/protocol';

import { deliver } from '../deliver.ts';
import type { SourceFailure } from '../errors.ts';
import type { ActiveWindow, WindowSource } from '../source.ts';
import { xToolEnv } from './run-command.ts';
import { spawnTied } from './spawn-tied.ts';
import {
  decodeLegacyText,
  decodeUtf8,
  parseHexBytes,
  parsePropertyLine,
  parseWindowId,
  terminate,
  type XProperty,
} from './xprop.ts';

export interface X11WindowSourceOptions {
  /** The X display to watch; defaults to `$DISPLAY`. */
  readonly display?: string;
  /** How long `start()` waits for the X server's first answer, in ms. */
  readonly startTimeoutMs?: number;
}

const XPROP_MISSING =
  'xprop is missing (Debian package x11-utils), so the active window cannot be watched: install x11-utils.';
/** The properties read from the active window, each in hex bytes (or a number for the pid). */
const WINDOW_PROPERTIES = ['_NET_WM_NAME', 'WM_NAME', 'WM_CLASS', '_NET_WM_PID'] as const;
const WINDOW_PROPERTY_FORMATS = [
  ...['-f', '_NET_WM_NAME', '8x'],
  ...['-f', 'WM_NAME', '8x'],
  ...['-f', 'WM_CLASS', '8x'],
  ...['-f', '_NET_WM_PID', '32c'],
];

/** The active window being followed: its own `xprop -spy` and the properties seen so far. */
interface Watch {
  readonly id: string;
  readonly child: ChildProcess;
  readonly properties: Map<string, XProperty>;
  /** The executable, from `/proc/<pid>/exe`, looked up once per window and pid. */
  exe: { readonly pid: number | null; readonly path: Promise<string | null> } | null;
}

/**
 * The focused window on an X11 desktop, from the window manager's `_NET_ACTIVE_WINDOW`
 * (EWMH; every current window manager sets it) and the window's own title properties.
 *
 * Event-driven, not polled: one long-lived `xprop -spy -root _NET_ACTIVE_WINDOW` reports
 * each focus change as the window manager makes it, and an `xprop -spy -id <window>` on the
 * active window reports each title change. Idle, this costs nothing; polling get-windows'
 * `activeWindow()` every 250 ms costs three process spawns per poll (~35 ms of work each
 * time here) and reports a focus change up to 250 ms late, during which the detector would
 * put the first keys typed into the new window on the old one. get-windows also reports
 * `WM_CLIENT_LEADER` as the window id, which is shared by all windows of an app (every
 * Chrome or Firefox window), so per-window state would mix windows; here the id is the
 * window's own.
 *
 * Emits an `ActiveWindow` when the active window or its title (or app) changes; nothing
 * while no window has focus (the desktop). Titles are cut to WINDOW_TITLE_MAX_CHARS.
 */
export class X11WindowSource implements WindowSource {
  readonly #display: string | undefined;
  readonly #startTimeoutMs: number;
  #state: SourceState = 'stopped';
  #error: SourceFailure | null = null;
  #root: ChildProcess | null = null;
  #watch: Watch | null = null;
  #lastEmitted: ActiveWindow | null = null;
  #onEvent: (window: ActiveWindow) => void = () => {};

  constructor(options: X11WindowSourceOptions = {}) {
    this.#display = options.display ?? process.env['DISPLAY'];
    this.#startTimeoutMs = options.startTimeoutMs ?? 5_000;
  }

  get state(): SourceState {
    return this.#state;
  }

  get error(): SourceFailure | null {
    return this.#error;
  }

  async start(onEvent: (window: ActiveWindow) => void): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') return;
    const display = this.#display;
    if (display === undefined || display === '') {
      this.#fail(
        'DISPLAY is not set, so there is no X server to watch: start the agent inside the X session.',
      );
      return;
    }
    this.#state = 'starting';
    this.#error = null;
    this.#lastEmitted = null;
    this.#onEvent = onEvent;

    const root = spawnTied('xprop', ['-display', display, '-spy', '-root', '_NET_ACTIVE_WINDOW'], {
      env: xToolEnv(display),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.#root = root;
    const firstAnswer = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#startTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      createInterface({ input: root.stdout }).on('line', (line) => {
        done();
        this.#onRootLine(root, line);
      });
      root.on('error', (error: NodeJS.ErrnoException) => {
        done();
        if (this.#root !== root) return;
        this.#fail(
          error.code === 'ENOENT'
            ? XPROP_MISSING
            : `The active-window watcher (xprop) could not start (${error.code ?? 'error'}).`,
        );
      });
      root.on('exit', (code) => {
        done();
        if (this.#root !== root || this.#state === 'stopped' || this.#state === 'failed') return;
        this.#fail(
          `The active-window watcher (xprop) exited with code ${String(code)}: the X display ${display} is gone or refused the connection. Restart the source once the session is back.`,
        );
      });
    });
    await firstAnswer;
    if (this.#state === 'starting' && this.#root === root) {
      if (root.exitCode === null && root.pid !== undefined) this.#state = 'running';
      else this.#fail(`The X server at ${display} did not answer: is the session running?`);
    }
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    const root = this.#root;
    const watch = this.#watch;
    this.#root = null;
    this.#watch = null;
    await Promise.all([watch && terminate(watch.child), root && terminate(root)]);
  }

  #onRootLine(root: ChildProcess, line: string): void {
    if (this.#root !== root) return;
    const property = parsePropertyLine(line);
    if (property?.name !== '_NET_ACTIVE_WINDOW') return;
    const id = property.present ? parseWindowId(property.value) : null;
    this.#follow(id);
  }

  /** Follow window `id` (or none): spy on its properties and emit once they are known. */
  #follow(id: string | null): void {
    const display = this.#display;
    if (display === undefined || this.#watch?.id === id || this.#root === null) return;
    const previous = this.#watch;
    this.#watch = null;
    if (previous) void terminate(previous.child);
    // The window manager clears the active window between two focus changes: wait for the next.
    if (id === null) return;

    const child = spawnTied(
      'xprop',
      ['-display', display, '-spy', '-id', id, ...WINDOW_PROPERTY_FORMATS, ...WINDOW_PROPERTIES],
      { env: xToolEnv(display), stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const watch: Watch = { id, child, properties: new Map(), exe: null };
    this.#watch = watch;
    // A missing xprop is reported by the root watcher, which failed first; a window closed
    // before this xprop reached it only makes it exit, and the next focus change follows.
    child.on('error', () => {});
    createInterface({ input: child.stdout }).on('line', (line) => {
      const property = parsePropertyLine(line);
      if (property === null || this.#watch !== watch) return;
      watch.properties.set(property.name, property);
      // xprop prints every property once at first, then each one again as it changes.
      if (WINDOW_PROPERTIES.every((name) => watch.properties.has(name))) {
        void this.#emitIfChanged(watch);
      }
    });
  }

  async #emitIfChanged(watch: Watch): Promise<void> {
    const pid = readPid(watch.properties.get('_NET_WM_PID'));
    if (watch.exe?.pid !== pid) {
      watch.exe = { pid, path: pid === null ? Promise.resolve(null) : executableOf(pid) };
    }
    const exePath = await watch.exe.path;
    // Read the properties after the wait, so a late call emits the newest title, never an older one.
    if (this.#watch !== watch || (this.#state !== 'running' && this.#state !== 'starting')) return;
    const [instance, windowClass] = readClass(watch.properties.get('WM_CLASS'));
    const window: ActiveWindow = {
      id: watch.id,
      title: readTitle(watch.properties),
      appName: windowClass ?? instance ?? '',
      appId: exePath ?? windowClass ?? null,
      pid,
    };
    const last = this.#lastEmitted;
    if (
      last?.id === window.id &&
      last.title === window.title &&
      last.appName === window.appName &&
      last.appId === window.appId &&
      last.pid === window.pid
    ) {
      return;
    }
    this.#lastEmitted = window;
    deliver(this.#onEvent, window);
  }

  #fail(message: string): void {
    this.#state = 'failed';
    this.#error = { code: 'WINDOW_SOURCE_FAILED', message };
    const watch = this.#watch;
    const root = this.#root;
    this.#watch = null;
    this.#root = null;
    if (watch) void terminate(watch.child);
    if (root) void terminate(root);
  }
}

function bytesOf(property: XProperty | undefined): Uint8Array | null {
  return property?.present ? parseHexBytes(property.value) : null;
}

/** `_NET_WM_NAME` (UTF-8) when set, else `WM_NAME`; cut to WINDOW_TITLE_MAX_CHARS. */
function readTitle(properties: ReadonlyMap<string, XProperty>): string {
  const netName = bytesOf(properties.get('_NET_WM_NAME'));
  const wmName = bytesOf(properties.get('WM_NAME'));
  const title = netName ? decodeUtf8(netName) : wmName ? decodeLegacyText(wmName) : '';
  return cutTitle(title);
}

function cutTitle(title: string): string {
  if (title.length <= WINDOW_TITLE_MAX_CHARS) return title;
  const end = WINDOW_TITLE_MAX_CHARS;
  // Do not split a surrogate pair (an emoji) in half.
  const last = title.charCodeAt(end - 1);
  return title.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end);
}

/** `WM_CLASS` is two NUL-terminated strings: instance name, then class name ("Google-chrome"). */
function readClass(property: XProperty | undefined): [string | undefined, string | undefined] {
  const bytes = bytesOf(property);
  if (bytes === null) return [undefined, undefined];
  const [instance, windowClass] = decodeLegacyText(bytes).split('\0');
  return [instance || undefined, windowClass || undefined];
}

function readPid(property: XProperty | undefined): number | null {
  if (!property?.present) return null;
  const pid = Number.parseInt(property.value, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** The executable of a process, or null when it is not ours to read (another user's) or gone. */
async function executableOf(pid: number): Promise<string | null> {
  try {
    return await readlink(`/proc/${pid}/exe`);
  } catch {
    // Another user's process, or one that has exited: the app id falls back to WM_CLASS.
    return null;
  }
}
