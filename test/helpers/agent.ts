import { once } from 'node:events';

import WebSocket from 'ws';

import {
  AGENT_WS_PATH,
  CLOSE_CODES,
  PROTOCOL_VERSION,
  parseCollectorFrame,
  type AgentFrame,
  type Capture,
  type CollectorFrame,
  type WelcomeFrame,
} from '@lantern/protocol';
import { makeCapture, makeHello } from '@lantern/protocol/testing';

/** A device as enrolment left it: what an agent keeps on disk. */
export interface DeviceCredentials {
  readonly deviceId: string;
  readonly siteId: string;
  readonly deviceCredential: string;
}

const agentUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, 'ws')}${AGENT_WS_PATH}`;

/** `count` valid captures of one device, each with its own UUIDv7. */
export function makeDeviceCaptures(device: DeviceCredentials, count: number): Capture[] {
  return Array.from({ length: count }, () =>
    makeCapture({ siteId: device.siteId, deviceId: device.deviceId }),
  );
}

/** One open, greeted agent connection, for tests about a single socket. */
export interface AgentConnection {
  readonly socket: WebSocket;
  readonly welcome: WelcomeFrame;
  send(frame: AgentFrame): void;
  /** Resolves when the socket closes, with the close code and reason. */
  closed(): Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/**
 * Connect as `device`, say hello and wait for the welcome. Rejects if the upgrade is refused
 * (the error carries `statusCode`) or no welcome comes within `timeoutMs`.
 */
export async function openAgentConnection(
  baseUrl: string,
  device: DeviceCredentials,
  timeoutMs = 10_000,
): Promise<AgentConnection> {
  const socket = new WebSocket(agentUrl(baseUrl), {
    headers: { authorization: `Bearer ${device.deviceCredential}` },
  });
  const closedPromise = once(socket, 'close').then(([code, reason]) => ({
    code: code as number,
    reason: String(reason),
  }));
  // Read below through closed(); until then a close must not count as unhandled.
  closedPromise.catch(() => undefined);
  const welcome = await new Promise<WelcomeFrame>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no welcome from ${baseUrl} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        clearTimeout(timer);
        socket.terminate();
        reject(
          Object.assign(new Error(`upgrade refused: ${response.statusCode} ${body}`), {
            statusCode: response.statusCode,
            body,
          }),
        );
      });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('open', () =>
      socket.send(JSON.stringify(makeHello({ deviceId: device.deviceId }))),
    );
    socket.on('message', (data: Buffer) => {
      const parsed = parseCollectorFrame(data);
      if (parsed.ok && parsed.frame.type === 'welcome') {
        clearTimeout(timer);
        resolve(parsed.frame);
      }
    });
    socket.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`closed with ${code} before the welcome`));
    });
  });
  return {
    socket,
    welcome,
    send: (frame) => socket.send(JSON.stringify(frame)),
    closed: () => closedPromise,
    close: async () => {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close();
      await closedPromise;
    },
  };
}

export interface ResendingAgentOptions {
  /** Where the collector is; read at each connection, so a test may move it. */
  readonly baseUrl: string | (() => string);
  readonly device: DeviceCredentials;
  /** Captures per frame (at most MAX_CAPTURE_BATCH). */
  readonly batchSize?: number;
  /** Capture frames sent and not yet answered, per connection: the agent's window. */
  readonly maxFramesInFlight?: number;
  /** Called with the ids acknowledged for the first time, as the ack arrives. */
  readonly onAck?: (captureIds: readonly string[]) => void;
  /** With no answer to a frame for this long the agent drops the connection and reconnects. */
  readonly responseTimeoutMs?: number;
}

/** What a resending agent saw, for assertions and failure messages. */
export interface ResendingAgentStats {
  /** Connections that got as far as a welcome. */
  welcomes: number;
  /** Connection attempts that failed before a welcome (refused, reset). */
  failedConnects: number;
  captureFramesSent: number;
  /** Captures sent again after an earlier send of the same capture. */
  resends: number;
  /** Acks naming captures already acknowledged (a resend racing its first ack). */
  duplicateAcks: number;
  /** Frames that went unanswered for responseTimeoutMs. */
  responseTimeouts: number;
  /** Error frames received, by code. */
  errors: Record<string, number>;
  /** Captures refused for good (non-retryable): a healthy run has none. */
  refused: string[];
  /** Close codes of every connection that ended. */
  closeCodes: number[];
}

const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CLOSE_CODES.authRejected,
  CLOSE_CODES.deviceRevoked,
  CLOSE_CODES.protocolUnsupported,
]);

/**
 * A test client that behaves as the agent must: every capture stays in its spool (here a
 * map) until the collector acknowledges it; a frame answered with a retryable error is
 * sent again after a pause; a lost connection is re-opened with backoff, and everything
 * still unacknowledged is sent again. It never gives up on its own: `stop()` it.
 */
export class ResendingAgent {
  readonly deviceId: string;
  /** Every capture id the collector acknowledged. */
  readonly acked = new Set<string>();
  readonly stats: ResendingAgentStats = {
    welcomes: 0,
    failedConnects: 0,
    captureFramesSent: 0,
    resends: 0,
    duplicateAcks: 0,
    responseTimeouts: 0,
    errors: {},
    refused: [],
    closeCodes: [],
  };

  private readonly options: Required<Omit<ResendingAgentOptions, 'onAck'>> &
    Pick<ResendingAgentOptions, 'onAck'>;
  /** The spool: captures not yet acknowledged, oldest first. */
  private readonly spool = new Map<string, Capture>();
  private readonly everSent = new Set<string>();
  private socket: WebSocket | undefined;
  private welcomed = false;
  /** Ids to send on this connection, in order; `queued` mirrors it for de-duplication. */
  private sendQueue: string[] = [];
  private readonly queued = new Set<string>();
  /** The capture frames of this connection awaiting an answer, oldest first. */
  private inFlight: string[][] = [];
  private responseTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private reconnectDelayMs = 50;
  private stopped = false;
  private fatalClose: number | undefined;

  constructor(options: ResendingAgentOptions) {
    this.options = {
      batchSize: 20,
      maxFramesInFlight: 2,
      responseTimeoutMs: 15_000,
      ...options,
    };
    this.deviceId = options.device.deviceId;
  }

  /** Captures not yet acknowledged. */
  get unackedCount(): number {
    return this.spool.size;
  }

  /** Capture frames sent on the current connection and not yet answered. */
  get framesInFlight(): number {
    return this.inFlight.length;
  }

  /** Connect and keep connecting until `stop()`. */
  start(): this {
    this.connect();
    return this;
  }

  /** Add captures to the spool; they are sent as soon as the window allows. */
  enqueue(captures: readonly Capture[]): void {
    for (const capture of captures) {
      if (this.acked.has(capture.id) || this.spool.has(capture.id)) continue;
      this.spool.set(capture.id, capture);
      if (this.welcomed) this.queue(capture.id);
    }
    this.pump();
  }

  /** Stop reconnecting and close the connection. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.responseTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const closed = once(socket, 'close');
    socket.terminate();
    await closed;
  }

  /** One line of state, for failure messages. */
  describe(): string {
    return `${this.deviceId}: ${this.acked.size} acked, ${this.spool.size} unacked, ${this.inFlight.length} frames in flight, connected ${this.welcomed}, gave up with ${this.fatalClose ?? 'nothing'}, stats ${JSON.stringify(this.stats)}`;
  }

  private connect(): void {
    if (this.stopped || this.fatalClose !== undefined) return;
    const base =
      typeof this.options.baseUrl === 'string' ? this.options.baseUrl : this.options.baseUrl();
    const socket = new WebSocket(agentUrl(base), {
      headers: { authorization: `Bearer ${this.options.device.deviceCredential}` },
    });
    this.socket = socket;
    socket.on('open', () => {
      socket.send(JSON.stringify(makeHello({ deviceId: this.deviceId })));
    });
    socket.on('message', (data: Buffer) => this.onFrame(socket, data));
    // A refused upgrade or a reset: 'close' follows, which schedules the reconnect.
    socket.on('error', () => undefined);
    socket.on('close', (code: number) => this.onClose(socket, code));
  }

  private onClose(socket: WebSocket, code: number): void {
    if (socket !== this.socket) return;
    if (!this.welcomed) this.stats.failedConnects += 1;
    this.stats.closeCodes.push(code);
    this.welcomed = false;
    this.inFlight = [];
    this.sendQueue = [];
    this.queued.clear();
    clearTimeout(this.responseTimer);
    if (FATAL_CLOSE_CODES.has(code)) {
      this.fatalClose = code;
      return;
    }
    if (this.stopped) return;
    this.reconnectTimer = setTimeout(() => this.connect(), this.reconnectDelayMs);
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 1_000);
  }

  private onFrame(socket: WebSocket, data: Buffer): void {
    if (socket !== this.socket) return;
    const parsed = parseCollectorFrame(data);
    if (!parsed.ok) {
      this.count(`INVALID_FRAME:${parsed.error.code}`);
      return;
    }
    const frame: CollectorFrame = parsed.frame;
    switch (frame.type) {
      case 'welcome':
        this.welcomed = true;
        this.stats.welcomes += 1;
        this.reconnectDelayMs = 50;
        // After any reconnection, everything still in the spool goes again.
        for (const id of this.spool.keys()) this.queue(id);
        this.pump();
        return;
      case 'ack':
        this.onAck(frame.captureIds);
        return;
      case 'error':
        this.count(frame.code);
        if (frame.captureId !== undefined) {
          // One capture of a batch; the rest of the batch is answered by the ack.
          if (frame.retryable) this.retryLater([frame.captureId], frame.retryAfterMs);
          else this.refuse(frame.captureId);
          return;
        }
        // A whole frame failed (a database fault, a rate limit): answers come in order.
        this.restartResponseTimer();
        if (frame.retryable) this.retryLater(this.inFlight.shift() ?? [], frame.retryAfterMs);
        else for (const id of this.inFlight.shift() ?? []) this.refuse(id);
        this.pump();
        return;
      case 'screenshot_ack':
      case 'policy':
        return;
    }
  }

  private onAck(captureIds: readonly string[]): void {
    const fresh: string[] = [];
    for (const id of captureIds) {
      if (this.spool.delete(id)) {
        this.acked.add(id);
        fresh.push(id);
      } else {
        this.stats.duplicateAcks += 1;
      }
    }
    const first = captureIds[0];
    const index = this.inFlight.findIndex((batch) => first !== undefined && batch.includes(first));
    if (index >= 0) {
      this.restartResponseTimer();
      this.inFlight.splice(index, 1);
    }
    if (fresh.length > 0) this.options.onAck?.(fresh);
    this.pump();
  }

  /** A frame got its answer: the silence timer starts again for the next one (in pump). */
  private restartResponseTimer(): void {
    clearTimeout(this.responseTimer);
    this.responseTimer = undefined;
  }

  private retryLater(ids: readonly string[], retryAfterMs = 250): void {
    const socket = this.socket;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      // A new connection resends the whole spool by itself.
      if (socket !== this.socket || !this.welcomed) return;
      for (const id of ids) this.queue(id);
      this.pump();
    }, retryAfterMs);
    this.retryTimers.add(timer);
  }

  private refuse(id: string): void {
    if (this.spool.delete(id)) this.stats.refused.push(id);
  }

  private queue(id: string): void {
    if (this.queued.has(id) || !this.spool.has(id)) return;
    if (this.inFlight.some((batch) => batch.includes(id))) return;
    this.queued.add(id);
    this.sendQueue.push(id);
  }

  private count(code: string): void {
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
  }

  private pump(): void {
    const socket = this.socket;
    if (!socket || !this.welcomed || socket.readyState !== WebSocket.OPEN) return;
    while (this.inFlight.length < this.options.maxFramesInFlight && this.sendQueue.length > 0) {
      const batch: Capture[] = [];
      while (batch.length < this.options.batchSize && this.sendQueue.length > 0) {
        const id = this.sendQueue.shift() ?? '';
        this.queued.delete(id);
        const capture = this.spool.get(id);
        if (capture) batch.push(capture);
      }
      if (batch.length === 0) break;
      const ids = batch.map((capture) => capture.id);
      for (const id of ids) {
        if (this.everSent.has(id)) this.stats.resends += 1;
        else this.everSent.add(id);
      }
      this.inFlight.push(ids);
      socket.send(JSON.stringify({ type: 'capture', v: PROTOCOL_VERSION, captures: batch }));
      this.stats.captureFramesSent += 1;
    }
    if (this.inFlight.length > 0 && this.responseTimer === undefined) {
      this.responseTimer = setTimeout(() => {
        this.stats.responseTimeouts += 1;
        this.responseTimer = undefined;
        socket.terminate();
      }, this.options.responseTimeoutMs);
    }
  }
}
