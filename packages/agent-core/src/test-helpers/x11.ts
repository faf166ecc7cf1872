/**
 * A real X server for tests: Xvfb on a display number it picks itself, openbox as the
 * window manager (it maintains `_NET_ACTIVE_WINDOW`), real windows (`xmessage`), and
 * xdotool/xclip to drive them. Every wait is on a condition with a deadline, never a fixed
 * sleep, and every process started here is stopped by `close()`, by its own PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** The Debian package that provides each tool the X tests use. */
const TOOL_PACKAGES = {
  Xvfb: 'xvfb',
  openbox: 'openbox',
  xdotool: 'xdotool',
  xclip: 'xclip',
  xprop: 'x11-utils',
  xdpyinfo: 'x11-utils',
  xmessage: 'x11-utils',
  xwininfo: 'x11-utils',
  xset: 'x11-xserver-utils',
  xsetroot: 'x11-xserver-utils',
  setxkbmap: 'x11-xkb-utils',
  xwd: 'x11-apps',
} as const;

export type XTool = keyof typeof TOOL_PACKAGES;

function onPath(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // Not in this directory: try the next one.
      return false;
    }
  });
}

/** Fail loudly, naming the packages to install, when a tool the tests need is missing. */
export function requireTools(
  tools: readonly XTool[] = Object.keys(TOOL_PACKAGES) as XTool[],
): void {
  const missing = tools.filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((tool) => TOOL_PACKAGES[tool]))].join(' ');
    throw new Error(
      `The X11 tests need ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed: apt-get install -y ${packages}`,
    );
  }
}

/** Poll `condition` until it returns a value other than `undefined`/`false`; reject after `timeoutMs`, saying what was awaited. */
export async function waitFor<T>(
  what: string,
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; detail?: () => string } = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) {
      const detail = options.detail ? `\n${options.detail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${detail}`);
    }
    await delay(intervalMs);
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a tool to completion (30 s at most) and return its output, whatever its exit code. */
export function run(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env: options.env ?? process.env, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${file} could not be run`, { cause: error }));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Stop a process we started, by PID, and wait until it has exited. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

export interface XServerOptions {
  /** Offer the RECORD extension (the keyboard hook needs it). Default true. */
  readonly record?: boolean;
  /**
   * Listen on TCP as well (`-listen tcp`), so the server can be reached as a remote display,
   * `127.0.0.1:N` (`tcpDisplay`). Default false.
   */
  readonly tcp?: boolean;
  /**
   * Require an MIT-MAGIC-COOKIE-1, as a desktop's X server does (`-auth`): the cookie is in
   * an Xauthority file of its own, which `env.XAUTHORITY` names. Default false (no access control).
   */
  readonly cookie?: boolean;
  /** Run openbox. Default true. */
  readonly windowManager?: boolean;
  /** `WIDTHxHEIGHTxDEPTH`. Default 1280x800x24. */
  readonly screen?: string;
}

/** A test window: an `xmessage` with a title we choose. */
export interface TestWindow {
  /** The X window id as a number, and as the sources report it (`0x…`, lower case). */
  readonly id: number;
  readonly hexId: string;
  readonly process: ChildProcess;
  close(): Promise<void>;
}

/** An Xvfb (with openbox) for one test file. `close()` stops everything started through it. */
export class XServer {
  readonly display: string;
  /** The same server as a remote display, over TCP (when started with `tcp`). */
  readonly tcpDisplay: string;
  readonly env: NodeJS.ProcessEnv;
  readonly #children: ChildProcess[] = [];
  readonly #authorityDir: string | undefined;

  private constructor(display: string, xvfb: ChildProcess, authorityDir?: string) {
    this.display = display;
    this.tcpDisplay = `127.0.0.1${display}`;
    this.env = {
      ...process.env,
      DISPLAY: display,
      LC_ALL: 'C.UTF-8',
      ...(authorityDir ? { XAUTHORITY: join(authorityDir, 'Xauthority') } : {}),
    };
    this.#children.push(xvfb);
    this.#authorityDir = authorityDir;
  }

  /**
   * Start Xvfb on a free display (`-displayfd`: the server picks the number and tells us,
   * so parallel test files and other users of the machine never collide), wait until it
   * accepts connections, then start openbox and wait until it manages the screen.
   */
  static async start(options: XServerOptions = {}): Promise<XServer> {
    requireTools();
    const authorityDir = options.cookie ? await writeAuthority() : undefined;
    const xvfb = spawn(
      'Xvfb',
      [
        '-displayfd',
        '3',
        '-screen',
        '0',
        options.screen ?? '1280x800x24',
        options.tcp ? '-listen' : '-nolisten',
        'tcp',
        // Without this the server resets whenever its last client disconnects (each probe
        // in the readiness wait), and a client connecting during the reset is refused.
        '-noreset',
        options.record === false ? '-extension' : '+extension',
        'RECORD',
        ...(authorityDir ? ['-auth', join(authorityDir, 'Xauthority')] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    xvfb.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const displayFd = xvfb.stdio[3];
    if (displayFd === null || displayFd === undefined || !('on' in displayFd)) {
      throw new Error('Xvfb was started without a -displayfd pipe');
    }
    let announced = '';
    displayFd.on('data', (chunk: Buffer) => (announced += chunk.toString('utf8')));
    const number = await waitFor(
      'Xvfb announces its display number',
      () => {
        if (xvfb.exitCode !== null) {
          throw new Error(`Xvfb exited with code ${xvfb.exitCode}: ${stderr.slice(-2000)}`);
        }
        return /^(\d+)\n/.exec(announced)?.[1];
      },
      { timeoutMs: 15_000 },
    );
    const server = new XServer(`:${number}`, xvfb, authorityDir);
    try {
      await waitFor(
        `the X server at ${server.display} accepts connections`,
        async () => (await server.run('xdpyinfo', ['-display', server.display])).code === 0,
        { detail: () => stderr.slice(-2000) },
      );
      if (options.windowManager !== false) await server.#startWindowManager();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  async #startWindowManager(): Promise<void> {
    const openbox = this.spawn('openbox', ['--sm-disable'], { stderr: true });
    let stderr = '';
    openbox.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    openbox.stdout?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    openbox.on('exit', (code, signal) => (stderr += `[exit ${code} ${signal}]`));
    let root = '';
    await waitFor(
      'openbox manages the screen (_NET_SUPPORTING_WM_CHECK on the root window)',
      async () => {
        if (openbox.exitCode !== null)
          throw new Error(`openbox exited with code ${openbox.exitCode}: ${stderr}`);
        root = (await this.run('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK'])).stdout;
        return /window id #/.test(root);
      },
      { detail: () => `xprop: ${root}\nopenbox: ${stderr}` },
    );
  }

  /** Start a long-running program on this display; `close()` stops it. */
  spawn(
    file: string,
    args: readonly string[],
    options: { stdin?: 'pipe' | 'ignore'; stderr?: boolean } = {},
  ): ChildProcess {
    const child = spawn(file, args, {
      env: this.env,
      stdio: [
        options.stdin ?? 'ignore',
        options.stderr ? 'pipe' : 'ignore',
        options.stderr ? 'pipe' : 'ignore',
      ],
    });
    // A failed spawn is reported by the wait that follows it; keep it from being unhandled.
    child.on('error', () => {});
    this.#children.push(child);
    return child;
  }

  /** Run a tool on this display to completion. */
  run(file: string, args: readonly string[]): Promise<RunResult> {
    return run(file, args, { env: this.env });
  }

  /** Run a tool on this display and fail the test if it fails. */
  async check(file: string, args: readonly string[]): Promise<string> {
    const result = await this.run(file, args);
    if (result.code !== 0) {
      throw new Error(`${file} ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
    }
    return result.stdout;
  }

  /**
   * Open an `xmessage` window titled `title` and wait until the window manager manages it.
   * openbox now and then never picks up a window mapped just after it started (seen 1 in
   * 30): such a window is closed and opened again, up to three times.
   */
  async openWindow(
    title: string,
    options: { background?: string; geometry?: string } = {},
  ): Promise<TestWindow> {
    for (let attempt = 1; ; attempt += 1) {
      const window = await this.#mapWindow(title, options);
      try {
        await this.#waitManaged(window, title, attempt < 3 ? 3_000 : 10_000);
        return window;
      } catch (error) {
        await window.close();
        if (attempt >= 3) throw error;
      }
    }
  }

  async #mapWindow(
    title: string,
    options: { background?: string; geometry?: string },
  ): Promise<TestWindow> {
    const child = this.spawn('xmessage', [
      '-buttons',
      '',
      '-title',
      title,
      // Text and borders in the background colour too, so the window is one flat colour.
      ...(options.background
        ? ['-bg', options.background, '-fg', options.background, '-bd', options.background]
        : []),
      ...(options.geometry ? ['-geometry', options.geometry] : []),
      'Lantern test window',
    ]);
    const id = await waitFor(`a window titled "${title}" exists`, async () => {
      if (child.exitCode !== null) throw new Error(`xmessage exited with code ${child.exitCode}`);
      const found = await this.run('xdotool', ['search', '--name', `^${escapeRegExp(title)}$`]);
      const first = found.stdout.split('\n')[0]?.trim();
      return first ? Number(first) : undefined;
    });
    return { id, hexId: `0x${id.toString(16)}`, process: child, close: () => stopProcess(child) };
  }

  async #waitManaged(window: TestWindow, title: string, timeoutMs: number): Promise<void> {
    let clients = '';
    await waitFor(
      `openbox manages the window "${title}" (${window.hexId})`,
      async () => {
        clients = (await this.run('xprop', ['-root', '_NET_CLIENT_LIST'])).stdout;
        return clients.includes(window.hexId);
      },
      { timeoutMs, detail: () => clients },
    );
  }

  /** The active window's id (`0x…`), or null. */
  async activeWindow(): Promise<string | null> {
    const { stdout } = await this.run('xprop', ['-root', '_NET_ACTIVE_WINDOW']);
    const match = /window id # (0x[0-9a-f]+)/i.exec(stdout);
    return match?.[1] && Number(match[1]) !== 0 ? `0x${Number(match[1]).toString(16)}` : null;
  }

  /** Give `window` the focus, and wait until the window manager says it has it. */
  async activate(window: TestWindow): Promise<void> {
    await waitFor(`window ${window.hexId} is active`, async () => {
      if ((await this.activeWindow()) === window.hexId) return true;
      await this.run('xdotool', ['windowactivate', String(window.id)]);
      return (await this.activeWindow()) === window.hexId;
    });
  }

  /**
   * Put `data` on the CLIPBOARD, offered as `target`, with an `xclip` that stays in the
   * foreground (so it is ours to stop) and serves it until another owner takes over; then
   * wait until the clipboard reads back as `data`.
   */
  async setClipboard(data: string | Buffer, target = 'UTF8_STRING'): Promise<void> {
    const writer = this.spawn('xclip', ['-selection', 'clipboard', '-quiet', '-t', target, '-i'], {
      stdin: 'pipe',
    });
    writer.stdin?.end(data);
    const expected = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    await waitFor('the clipboard holds what was put on it', async () => {
      if (writer.exitCode !== null) throw new Error(`xclip exited with code ${writer.exitCode}`);
      const read = await readClipboard(this.env, target);
      return read.equals(expected);
    });
  }

  /** Stop every process started through this server, newest first, the X server last. */
  async close(): Promise<void> {
    const children = this.#children.splice(0).reverse();
    for (const child of children) await stopProcess(child);
    if (this.#authorityDir) await rm(this.#authorityDir, { recursive: true, force: true });
  }
}

/**
 * An Xauthority file holding one random MIT-MAGIC-COOKIE-1 for any host and display
 * (family Wild): the display number is not known until Xvfb has started.
 */
async function writeAuthority(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lantern-xauth-'));
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(bytes.length);
    return [length, bytes];
  };
  const family = Buffer.alloc(2);
  family.writeUInt16BE(0xffff);
  const entry = Buffer.concat([
    family,
    ...field(Buffer.alloc(0)),
    ...field(Buffer.alloc(0)),
    ...field(Buffer.from('MIT-MAGIC-COOKIE-1', 'latin1')),
    ...field(randomBytes(16)),
  ]);
  await writeFile(join(dir, 'Xauthority'), entry, { mode: 0o600 });
  return dir;
}

function readClipboard(env: NodeJS.ProcessEnv, target: string): Promise<Buffer> {
  return new Promise((resolve) => {
    execFile(
      'xclip',
      ['-selection', 'clipboard', '-o', '-t', target],
      { env, encoding: 'buffer', timeout: 5_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout) => resolve(error ? Buffer.alloc(0) : stdout),
    );
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A title no other test (or run) uses. */
export function uniqueTitle(label: string): string {
  return `lantern-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
