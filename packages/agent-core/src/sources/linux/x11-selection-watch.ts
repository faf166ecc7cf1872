import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';

/** Why a selection watch could not be opened; the caller falls back to reading on a timer. */
export type SelectionWatchRefusal =
  /** The display is not a local one (`:N`), or the server has no XFixes extension. */
  | 'unsupported'
  /** No X server answered at the display, or it refused the connection (authorisation). */
  | 'unreachable';

export type OpenSelectionWatch =
  | { readonly ok: true; readonly watch: X11SelectionWatch }
  | { readonly ok: false; readonly reason: SelectionWatchRefusal; readonly message: string };

export interface SelectionWatchOptions {
  /** The X display, `:N` or `:N.S` (a local server, reached through its Unix socket). */
  readonly display: string;
  /** The selection to watch, e.g. `CLIPBOARD`. */
  readonly selection: string;
  /** The selection has a new owner, or lost its owner (the owner closed its window or quit). */
  readonly onChange: () => void;
  /** The connection ended without `close()`: the X server has gone, or dropped this client. */
  readonly onClosed: () => void;
  /** The Xauthority file; default `$XAUTHORITY`, else `~/.Xauthority`, as Xlib does. */
  readonly authorityFile?: string;
  /** How long connecting and subscribing may take, in ms. Default 5,000. */
  readonly timeoutMs?: number;
}

/** XFixes 1.0 and later: SelectSelectionInput, and the events it asks for. */
const XFIXES_VERSION = 5;
const XFIXES_QUERY_VERSION = 0;
const XFIXES_SELECT_SELECTION_INPUT = 2;
/** SetSelectionOwner | SelectionWindowDestroy | SelectionClientClose. */
const SELECTION_EVENT_MASK = 0b111;
const QUERY_EXTENSION = 98;
const INTERN_ATOM = 16;
const GET_INPUT_FOCUS = 43;
const GENERIC_EVENT = 35;
const FAMILY_LOCAL = 256;
const FAMILY_WILD = 65535;
const COOKIE_NAME = 'MIT-MAGIC-COOKIE-1';

/**
 * Tells when the owner of an X selection changes, from the XFixes extension's selection
 * events. No standard X tool waits for them (xclip and xsel read and write selections;
 * clipnotify is not packaged for Debian), so this is a minimal X11 client: it connects to
 * the display's Unix socket with the session's MIT-MAGIC-COOKIE-1, subscribes to the
 * selection's events on the root window, and then only reads those events, so it costs
 * nothing while nobody copies. It never reads the selection's content.
 *
 * Open with `X11SelectionWatch.open()`; `close()` ends the connection.
 */
export class X11SelectionWatch {
  readonly #connection: XConnection;
  #closed = false;

  private constructor(connection: XConnection) {
    this.#connection = connection;
  }

  static async open(options: SelectionWatchOptions): Promise<OpenSelectionWatch> {
    const local = /^(?:unix)?:(\d+)(?:\.\d+)?$/.exec(options.display);
    if (!local?.[1]) {
      return {
        ok: false,
        reason: 'unsupported',
        message: `${options.display} is not a local display (:N)`,
      };
    }
    const number = local[1];
    const timeoutMs = options.timeoutMs ?? 5_000;
    const signal = AbortSignal.timeout(timeoutMs);
    let connection: XConnection | undefined;
    try {
      const cookie = await readCookie(
        options.authorityFile ?? process.env['XAUTHORITY'] ?? join(homedir(), '.Xauthority'),
        number,
      );
      connection = await XConnection.open(number, cookie, signal);
      const xfixes = await connection.queryExtension('XFIXES', signal);
      if (!xfixes) {
        connection.destroy();
        return {
          ok: false,
          reason: 'unsupported',
          message: `the X server at ${options.display} has no XFIXES extension`,
        };
      }
      // The server answers XFixes requests only from a client that has said which version it speaks.
      await connection.request(
        request(xfixes.opcode, XFIXES_QUERY_VERSION, [XFIXES_VERSION, 0]),
        signal,
      );
      const atom = await connection.internAtom(options.selection, signal);
      connection.send(
        request(xfixes.opcode, XFIXES_SELECT_SELECTION_INPUT, [
          connection.root,
          atom,
          SELECTION_EVENT_MASK,
        ]),
      );
      // A request with a reply, after the one without: its reply means the subscription
      // was accepted (an error for it would have come first and rejected this).
      await connection.request(request(GET_INPUT_FOCUS, 0, []), signal);
      const watch = new X11SelectionWatch(connection);
      connection.onEvent = (event) => {
        if ((event[0] ?? 0) % 128 === xfixes.firstEvent && event.readUInt32LE(12) === atom)
          options.onChange();
      };
      connection.onEnd = () => {
        if (!watch.#closed) options.onClosed();
      };
      return { ok: true, watch };
    } catch (error) {
      connection?.destroy();
      return {
        ok: false,
        reason: 'unreachable',
        message: `cannot watch the selection on ${options.display}: ${(error as Error).message}`,
      };
    }
  }

  /** End the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connection.end();
  }
}

/** One X11 request: opcode, a data byte, its length in 4-byte units, then 32-bit values. */
function request(opcode: number, data: number, values: readonly number[]): Buffer {
  const bytes = Buffer.alloc(4 + values.length * 4);
  bytes.writeUInt8(opcode, 0);
  bytes.writeUInt8(data, 1);
  bytes.writeUInt16LE(1 + values.length, 2);
  values.forEach((value, index) => bytes.writeUInt32LE(value, 4 + index * 4));
  return bytes;
}

/** A request whose body is a 16-bit name length, 2 unused bytes and the name (QueryExtension, InternAtom). */
function namedRequest(opcode: number, data: number, name: string): Buffer {
  const text = Buffer.from(name, 'latin1');
  const bytes = Buffer.alloc(8 + pad4(text.length));
  bytes.writeUInt8(opcode, 0);
  bytes.writeUInt8(data, 1);
  bytes.writeUInt16LE(bytes.length / 4, 2);
  bytes.writeUInt16LE(text.length, 4);
  text.copy(bytes, 8);
  return bytes;
}

const pad4 = (length: number): number => (length + 3) & ~3;

/**
 * A little-endian X11 client connection: the set-up, requests with replies matched by
 * sequence number, and events handed to `onEvent`.
 */
class XConnection {
  onEvent: (event: Buffer) => void = () => {};
  onEnd: () => void = () => {};
  readonly #socket: Socket;
  #root = 0;
  #buffered: Buffer = Buffer.alloc(0);
  #setUp: { resolve: () => void; reject: (error: Error) => void } | null;
  #sequence = 0;
  readonly #waiting = new Map<
    number,
    { resolve: (reply: Buffer) => void; reject: (error: Error) => void }
  >();

  private constructor(
    socket: Socket,
    setUp: { resolve: () => void; reject: (error: Error) => void },
  ) {
    this.#socket = socket;
    this.#setUp = setUp;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', () => {
      // Followed by 'close', which fails whatever waits.
    });
    socket.on('close', () => {
      const error = new Error('the X server closed the connection');
      this.#setUp?.reject(error);
      this.#setUp = null;
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
      this.onEnd();
    });
  }

  /** The root window of the first screen. */
  get root(): number {
    return this.#root;
  }

  static async open(
    number: string,
    cookie: Buffer | null,
    signal: AbortSignal,
  ): Promise<XConnection> {
    const path = `/tmp/.X11-unix/X${number}`;
    let socket: Socket;
    try {
      // Linux servers listen on an abstract socket too, which a private /tmp does not hide.
      socket = await connectSocket(`\0${path}`, signal);
    } catch {
      socket = await connectSocket(path, signal);
    }
    let connection: XConnection | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(new Error('the X server did not complete the set-up in time'));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        connection = new XConnection(socket, {
          resolve: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          reject: (error) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        });
        socket.write(setupRequest(cookie));
      });
    } catch (error) {
      socket.destroy();
      throw error;
    }
    // The agent's other work keeps the process alive; a watch alone must not.
    socket.unref();
    if (!connection) throw new Error('unreachable');
    return connection;
  }

  send(bytes: Buffer): number {
    this.#socket.write(bytes);
    this.#sequence = (this.#sequence + 1) & 0xffff;
    return this.#sequence;
  }

  /** Send a request that has a reply, and wait for the reply (or the error). */
  request(bytes: Buffer, signal: AbortSignal): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const sequence = this.send(bytes);
      const onAbort = () => {
        this.#waiting.delete(sequence);
        reject(new Error('the X server did not answer in time'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.set(sequence, {
        resolve: (reply) => {
          signal.removeEventListener('abort', onAbort);
          resolve(reply);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
    });
  }

  /** The extension's major opcode and first event code, or null when the server lacks it. */
  async queryExtension(
    name: string,
    signal: AbortSignal,
  ): Promise<{ opcode: number; firstEvent: number } | null> {
    const reply = await this.request(namedRequest(QUERY_EXTENSION, 0, name), signal);
    return reply[8] === 1 ? { opcode: reply[9] ?? 0, firstEvent: reply[10] ?? 0 } : null;
  }

  async internAtom(name: string, signal: AbortSignal): Promise<number> {
    const reply = await this.request(namedRequest(INTERN_ATOM, 0, name), signal);
    return reply.readUInt32LE(8);
  }

  #receive(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    if (this.#setUp) {
      // The set-up reply: 8 bytes, the last two giving how many 4-byte units follow.
      if (this.#buffered.length < 8) return;
      const length = 8 + this.#buffered.readUInt16LE(6) * 4;
      if (this.#buffered.length < length) return;
      const reply = this.#buffered.subarray(0, length);
      this.#buffered = this.#buffered.subarray(length);
      const setUp = this.#setUp;
      this.#setUp = null;
      const status = reply[0];
      if (status !== 1) {
        // 0: failed, with a reason of reply[1] bytes; 2: authenticate, the rest is the reason.
        const reason = reply
          .subarray(8, status === 0 ? 8 + (reply[1] ?? 0) : reply.length)
          .toString('latin1')
          .replace(/\0+$/, '')
          .trim();
        setUp.reject(new Error(`the X server refused the connection: ${reason || 'no reason'}`));
        return;
      }
      const vendorLength = reply.readUInt16LE(24);
      const formats = reply[29] ?? 0;
      this.#root = reply.readUInt32LE(40 + pad4(vendorLength) + 8 * formats);
      setUp.resolve();
    }
    for (;;) {
      if (this.#buffered.length < 32) return;
      const kind = this.#buffered[0] ?? 0;
      // Replies and generic events carry extra 4-byte units; errors and other events are 32 bytes.
      const extra =
        kind === 1 || kind % 128 === GENERIC_EVENT ? this.#buffered.readUInt32LE(4) * 4 : 0;
      if (this.#buffered.length < 32 + extra) return;
      const message = Buffer.from(this.#buffered.subarray(0, 32 + extra));
      this.#buffered = this.#buffered.subarray(32 + extra);
      if (kind === 0 || kind === 1) this.#answer(kind, message);
      else this.onEvent(message);
    }
  }

  #answer(kind: 0 | 1, message: Buffer): void {
    const sequence = message.readUInt16LE(2);
    const waiting = this.#waiting.get(sequence);
    this.#waiting.delete(sequence);
    if (kind === 1) {
      waiting?.resolve(message);
      return;
    }
    const error = new Error(
      `the X server refused request ${message[10]}.${message.readUInt16LE(8)} (X error ${message[1]})`,
    );
    // An error for a request without a reply fails the request waiting after it.
    (waiting ?? this.#waiting.values().next().value)?.reject(error);
  }

  end(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) return resolve();
      this.#socket.once('close', () => resolve());
      this.#socket.end();
      // A server that does not close its side soon: close ours.
      setTimeout(() => this.#socket.destroy(), 1_000).unref();
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** The connection set-up: byte order, protocol 11.0, and the cookie when there is one. */
function setupRequest(cookie: Buffer | null): Buffer {
  const name = Buffer.from(cookie ? COOKIE_NAME : '', 'latin1');
  const data = cookie ?? Buffer.alloc(0);
  const setup = Buffer.alloc(12 + pad4(name.length) + pad4(data.length));
  setup.write('l', 0, 'latin1'); // little-endian, like every number this client writes
  setup.writeUInt16LE(11, 2);
  setup.writeUInt16LE(0, 4);
  setup.writeUInt16LE(name.length, 6);
  setup.writeUInt16LE(data.length, 8);
  name.copy(setup, 12);
  data.copy(setup, 12 + pad4(name.length));
  return setup;
}

function connectSocket(path: string, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const onAbort = () => {
      socket.destroy();
      reject(new Error('connecting to the X server timed out'));
    };
    const onError = (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * The MIT-MAGIC-COOKIE-1 for local display `number` in an Xauthority file, chosen as libXau
 * does: an entry for this host (or any host), for this display number (or any); null when the
 * file or an entry is missing (the server may not ask for one: Xvfb without `-auth`).
 */
export async function readCookie(file: string, number: string): Promise<Buffer | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    // No Xauthority file: connect without a cookie, as Xlib does.
    return null;
  }
  const host = hostname();
  let offset = 0;
  const field = (): Buffer | null => {
    if (offset + 2 > bytes.length) return null;
    const length = bytes.readUInt16BE(offset);
    if (offset + 2 + length > bytes.length) return null;
    const value = bytes.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    return value;
  };
  while (offset + 2 <= bytes.length) {
    const family = bytes.readUInt16BE(offset);
    offset += 2;
    const [address, display, name, data] = [field(), field(), field(), field()];
    if (!address || !display || !name || !data) return null; // a truncated file
    const forHost =
      family === FAMILY_WILD || (family === FAMILY_LOCAL && address.toString('latin1') === host);
    const forDisplay = display.length === 0 || display.toString('latin1') === number;
    if (forHost && forDisplay && name.toString('latin1') === COOKIE_NAME) return Buffer.from(data);
  }
  return null;
}
