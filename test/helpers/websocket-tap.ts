import type { ProxyDirection } from './tcp-proxy.ts';

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * The text messages of one direction of one WebSocket connection, read from its raw TCP
 * bytes (RFC 6455): the HTTP upgrade is skipped, frames are unmasked and fragments joined.
 * Control and binary frames are skipped; so is a connection whose upgrade was refused.
 * Compressed frames (permessage-deflate) are counted in `compressed` and not read: the
 * collector does not offer compression, so a test may assert there are none.
 */
class FrameReader {
  compressed = 0;
  readonly #onMessage: (text: string) => void;
  #buffer: Buffer = Buffer.alloc(0);
  #state: 'handshake' | 'frames' | 'ignored' = 'handshake';
  #fragments: Buffer[] = [];
  /** Whether the message being joined is (uncompressed) text, which is all that is read. */
  #readingText = false;

  constructor(onMessage: (text: string) => void) {
    this.#onMessage = onMessage;
  }

  push(chunk: Buffer): void {
    if (this.#state === 'ignored') return;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#state === 'handshake') {
      const end = this.#buffer.indexOf(HEADER_END);
      if (end < 0) return;
      const head = this.#buffer.subarray(0, end).toString('latin1');
      // Frames follow only an upgrade request, and its 101 answer; anything else is plain HTTP.
      const upgrade = head.startsWith('HTTP/')
        ? /^HTTP\/1\.1 101 /.test(head)
        : /^upgrade:\s*websocket\s*$/im.test(head);
      this.#state = upgrade ? 'frames' : 'ignored';
      this.#buffer = this.#buffer.subarray(end + HEADER_END.length);
    }
    while (this.#state === 'frames' && this.#readFrame());
  }

  /** Read one whole frame from the buffer; false when more bytes are needed. */
  #readFrame(): boolean {
    const buffer = this.#buffer;
    if (buffer.length < 2) return false;
    const first = buffer.readUInt8(0);
    const second = buffer.readUInt8(1);
    let offset = 2;
    let length = second & 0x7f;
    if (length === 126) {
      if (buffer.length < 4) return false;
      length = buffer.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffer.length < 10) return false;
      length = Number(buffer.readBigUInt64BE(2));
      offset = 10;
    }
    const masked = (second & 0x80) !== 0;
    const mask = masked ? buffer.subarray(offset, offset + 4) : undefined;
    if (masked) offset += 4;
    if (buffer.length < offset + length) return false;
    const payload = Buffer.from(buffer.subarray(offset, offset + length));
    this.#buffer = buffer.subarray(offset + length);
    if (mask) {
      for (let index = 0; index < payload.length; index++) {
        payload.writeUInt8(payload.readUInt8(index) ^ mask.readUInt8(index % 4), index);
      }
    }

    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    if ((first & 0x40) !== 0) this.compressed += 1;
    if (opcode >= 0x8) return true; // close, ping, pong
    if (opcode !== 0x0) {
      this.#fragments = [];
      this.#readingText = opcode === 0x1 && (first & 0x40) === 0;
    }
    this.#fragments.push(payload);
    if (fin) {
      if (this.#readingText) this.#onMessage(Buffer.concat(this.#fragments).toString('utf8'));
      this.#fragments = [];
    }
    return true;
  }
}

/**
 * Reads the WebSocket text messages going through a `TcpProxy` (give `onData` as its
 * `onData`): what a capture on the wire would show. Plain `ws://` only.
 */
export class WebSocketTap {
  readonly #onMessage: (direction: ProxyDirection, text: string) => void;
  readonly #readers = new Map<string, FrameReader>();

  constructor(onMessage: (direction: ProxyDirection, text: string) => void) {
    this.#onMessage = onMessage;
  }

  /** Frames that were compressed, and so not read. */
  get compressedFrames(): number {
    let count = 0;
    for (const reader of this.#readers.values()) count += reader.compressed;
    return count;
  }

  readonly onData = (connection: number, direction: ProxyDirection, chunk: Buffer): void => {
    const key = `${connection}:${direction}`;
    let reader = this.#readers.get(key);
    if (!reader) {
      reader = new FrameReader((text) => this.#onMessage(direction, text));
      this.#readers.set(key, reader);
    }
    reader.push(chunk);
  };
}
