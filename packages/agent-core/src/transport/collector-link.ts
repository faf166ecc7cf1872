import { EventEmitter } from 'node:events';

import WebSocket from 'ws';

import {
  AGENT_WS_PATH,
  CLOSE_CODES,
  MAX_CAPTURE_BATCH,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  parseCollectorFrame,
  type AgentFrame,
  type Capture,
  type CollectorFrame,
  type HeartbeatFrame,
  type Policy,
  type ScreenshotMediaType,
} from '@lantern/protocol';

/** A capture waiting to be sent, with its screenshot's bytes when it has one. */
export interface Outbound {
  readonly capture: Capture;
  readonly screenshot?: {
    readonly bytes: Uint8Array;
    readonly sha256: string;
    readonly mediaType: ScreenshotMediaType;
    readonly width: number;
    readonly height: number;
  };
}

/** What the link needs from the spool: the unacked captures (most severe first), and where acks go. */
export interface OutboundQueue {
  pending(limit: number): Promise<readonly Outbound[]>;
  /** The collector stored these: they may be deleted. */
  acked(captureIds: readonly string[]): Promise<void>;
  /** The collector will never take this one (not retryable): set it aside, counted. */
  rejected(captureId: string, code: string): Promise<void>;
}

export interface CollectorLinkOptions {
  /** The collector's base address, `http(s)://host:port`; the WebSocket address follows from it. */
  readonly collectorUrl: string;
  readonly deviceId: string;
  readonly credential: string;
  readonly agentVersion: string;
  readonly queue: OutboundQueue;
  /** The policy version the device holds (sent at hello, so a new one comes at once). */
  readonly policyVersion: () => string | null;
  /** What the heartbeat reports now. */
  readonly heartbeat: () => Omit<HeartbeatFrame, 'type' | 'v' | 'sentAt'>;
  /** Reconnect backoff: full jitter between 0 and min(max, initial × 2^attempt). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Batches sent and not yet acknowledged, at most. */
  readonly window?: number;
  /**
   * How often to ping the collector (default 15 s). A connection that answers nothing, not
   * even a ping, for two of these is given up and made again: a collector host that vanished
   * or a network that drops packets silently would otherwise hold captures unsent until the
   * kernel gives up on the connection (about 15 minutes).
   */
  readonly livenessIntervalMs?: number;
  readonly random?: () => number;
}

export type LinkState = 'connecting' | 'online' | 'offline' | 'stopped';

export interface CollectorLinkEvents {
  state: [LinkState];
  policy: [Policy];
  acked: [number];
  /** A technician revoked this device, or its credential is no longer known: stop, re-enrol. */
  fatal: [
    { code: 'DEVICE_REVOKED' | 'CREDENTIAL_REJECTED' | 'PROTOCOL_UNSUPPORTED'; message: string },
  ];
  /** Something the collector said that a technician may need (no captured text). */
  problem: [{ code: string; message: string }];
}

/** The WebSocket address for a collector's base `http(s)://` address. */
export function agentSocketUrl(collectorUrl: string): string {
  const url = new URL(collectorUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${AGENT_WS_PATH}`;
  return url.toString();
}

/**
 * The agent's one WebSocket to the collector. It sends what the spool holds (most severe
 * first, so after weeks offline the urgent go in the first batch),
 * a window of batches at a time, and tells the spool when the collector acknowledges (only
 * after commit); a connection lost with captures in flight sends them again on the next
 * (the collector stores each once). It reconnects with jittered exponential backoff,
 * sends heartbeats, and hands on policies. Close codes 4403 (revoked), 4401 (credential
 * unknown) and 4426 (protocol) end it: retrying cannot help.
 */
export class CollectorLink extends EventEmitter<CollectorLinkEvents> {
  private readonly options: CollectorLinkOptions;
  private socket: WebSocket | undefined;
  private stateValue: LinkState = 'offline';
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private greeted = false;
  private limits = { maxFrameBytes: MAX_FRAME_BYTES, maxCaptureBatch: MAX_CAPTURE_BATCH };
  /** Capture ids sent on this connection and not yet answered (ack or error). */
  private inFlight = new Set<string>();
  /** The same ids by batch: a batch leaves the window once all its ids are answered. */
  private batches: Set<string>[] = [];
  private screenshotsSent = new Set<string>();
  private pumping = false;
  private pumpAgain = false;
  private pausedUntil = 0;

  constructor(options: CollectorLinkOptions) {
    super();
    this.options = options;
  }

  get state(): LinkState {
    return this.stateValue;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Close the connection and stop reconnecting; what is unacked stays in the spool. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pauseTimer);
    this.stopHeartbeat();
    this.stopLiveness();
    const socket = this.socket;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.close(CLOSE_CODES.normal, 'agent stopping');
      // A collector that does not answer the close within 2 s is not waited for (ws would wait 30 s).
      const giveUp = setTimeout(() => socket.terminate(), 2_000);
      await closed;
      clearTimeout(giveUp);
    }
    this.setState('stopped');
  }

  /** New captures are in the spool: send them if online. */
  notify(): void {
    void this.pump();
  }

  private setState(state: LinkState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    const socket = new WebSocket(agentSocketUrl(this.options.collectorUrl), {
      headers: { authorization: `Bearer ${this.options.credential}` },
      handshakeTimeout: 15_000,
      maxPayload: MAX_FRAME_BYTES,
    });
    this.socket = socket;
    this.greeted = false;
    this.inFlight = new Set();
    this.batches = [];
    this.screenshotsSent = new Set();
    socket.on('open', () => {
      this.startLiveness(socket);
      this.send({
        type: 'hello',
        v: PROTOCOL_VERSION,
        deviceId: this.options.deviceId,
        agentVersion: this.options.agentVersion,
        protocolVersions: [PROTOCOL_VERSION],
        policyVersion: this.options.policyVersion(),
      });
    });
    socket.on('message', (data: Buffer) => {
      const parsed = parseCollectorFrame(data, { maxFrameBytes: MAX_FRAME_BYTES });
      if (!parsed.ok) {
        this.emit('problem', { code: parsed.error.code, message: parsed.error.message });
        return;
      }
      this.onFrame(parsed.frame);
    });
    socket.on('unexpected-response', (_request, response) => {
      // The upgrade was refused: 401 unknown credential, 403 revoked.
      const status = response.statusCode ?? 0;
      response.resume();
      if (status === 401 || status === 403) {
        this.fatal(
          status === 403 ? 'DEVICE_REVOKED' : 'CREDENTIAL_REJECTED',
          status === 403
            ? 'The collector says this device was revoked: a technician must enrol it again.'
            : 'The collector does not know this device credential: enrol the device again.',
        );
      }
      socket.terminate();
    });
    socket.on('error', (error) => {
      this.emit('problem', { code: 'COLLECTOR_UNREACHABLE', message: error.message });
    });
    socket.on('close', (code) => this.onClose(socket, code));
  }

  private onClose(socket: WebSocket, code: number): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.stopHeartbeat();
    this.stopLiveness();
    if (code === CLOSE_CODES.deviceRevoked) {
      this.fatal('DEVICE_REVOKED', 'A technician revoked this device: it must be enrolled again.');
      return;
    }
    if (code === CLOSE_CODES.authRejected) {
      this.fatal('CREDENTIAL_REJECTED', 'The collector refused this device credential.');
      return;
    }
    if (code === CLOSE_CODES.protocolUnsupported) {
      this.fatal(
        'PROTOCOL_UNSUPPORTED',
        'The collector does not speak this agent’s protocol: update the agent.',
      );
      return;
    }
    if (this.stopped) return;
    this.setState('offline');
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 500, maxMs: 60_000 };
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempt, 20));
    this.attempt += 1;
    const delay = Math.floor((this.options.random ?? Math.random)() * ceiling);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private fatal(code: CollectorLinkEvents['fatal'][0]['code'], message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    this.stopLiveness();
    this.setState('stopped');
    this.emit('fatal', { code, message });
  }

  private send(frame: AgentFrame): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private onFrame(frame: CollectorFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.greeted = true;
        this.attempt = 0;
        this.limits = {
          maxFrameBytes: Math.min(frame.limits.maxFrameBytes, MAX_FRAME_BYTES),
          maxCaptureBatch: Math.min(frame.limits.maxCaptureBatch, MAX_CAPTURE_BATCH),
        };
        this.startHeartbeat(frame.heartbeatIntervalMs);
        this.setState('online');
        void this.pump();
        return;
      case 'policy':
        this.emit('policy', frame.policy);
        return;
      case 'ack':
        void this.onAck(frame.captureIds);
        return;
      case 'screenshot_ack':
        return;
      case 'error':
        void this.onError(frame);
        return;
    }
  }

  private async onAck(ids: readonly string[]): Promise<void> {
    await this.options.queue.acked(ids);
    this.answered(ids);
    this.emit('acked', ids.length);
    void this.pump();
  }

  private async onError(frame: Extract<CollectorFrame, { type: 'error' }>): Promise<void> {
    this.emit('problem', { code: frame.code, message: frame.message });
    if (frame.retryAfterMs !== undefined || frame.code === 'RATE_LIMITED') {
      this.pause(frame.retryAfterMs ?? 1_000);
    }
    if (!frame.captureId && !frame.sha256 && this.batches.length > 0) {
      // A whole frame failed (the database was down, say): the collector handles frames in
      // order, so this answers the oldest batch in flight; its captures go again later.
      const [oldest] = this.batches;
      if (oldest) this.answered([...oldest]);
      if (frame.retryable && frame.retryAfterMs === undefined) this.pause(1_000);
    }
    if (frame.captureId) {
      if (!frame.retryable) await this.options.queue.rejected(frame.captureId, frame.code);
      // Retryable: it stays in the spool and goes again in a later batch.
      this.answered([frame.captureId]);
      if (frame.code === 'SCREENSHOT_MISSING') this.screenshotsSent.clear();
      // Not straight back: a fault that repeats must not become a busy loop.
      if (frame.retryable && frame.retryAfterMs === undefined) this.pause(1_000);
    }
    void this.pump();
  }

  private answered(ids: readonly string[]): void {
    for (const id of ids) {
      this.inFlight.delete(id);
      for (const batch of this.batches) batch.delete(id);
    }
    this.batches = this.batches.filter((batch) => batch.size > 0);
  }

  private pause(ms: number): void {
    this.pausedUntil = Date.now() + ms;
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => void this.pump(), ms);
  }

  /** Send what the spool holds, a window of batches at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        await this.sendSome();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private async sendSome(): Promise<void> {
    const window = this.options.window ?? 4;
    while (
      this.greeted &&
      this.socket?.readyState === WebSocket.OPEN &&
      this.batches.length < window &&
      Date.now() >= this.pausedUntil
    ) {
      const wanted = this.inFlight.size + this.limits.maxCaptureBatch;
      const pending = (await this.options.queue.pending(wanted)).filter(
        (item) => !this.inFlight.has(item.capture.id),
      );
      if (pending.length === 0) return;
      const batch: Capture[] = [];
      let bytes = 64;
      for (const item of pending) {
        if (batch.length >= this.limits.maxCaptureBatch) break;
        const size = Buffer.byteLength(JSON.stringify(item.capture)) + 1;
        if (batch.length > 0 && bytes + size > this.limits.maxFrameBytes) break;
        const shot = item.screenshot;
        if (shot && !this.screenshotsSent.has(shot.sha256)) {
          // Before the capture that references it: the collector handles frames in order.
          this.send({
            type: 'screenshot',
            v: PROTOCOL_VERSION,
            sha256: shot.sha256,
            mediaType: shot.mediaType,
            width: shot.width,
            height: shot.height,
            data: Buffer.from(shot.bytes).toString('base64'),
          });
          this.screenshotsSent.add(shot.sha256);
        }
        batch.push(item.capture);
        bytes += size;
      }
      for (const capture of batch) this.inFlight.add(capture.id);
      this.batches.push(new Set(batch.map((capture) => capture.id)));
      this.send({ type: 'capture', v: PROTOCOL_VERSION, captures: batch });
    }
  }

  private startHeartbeat(intervalMs: number): void {
    this.stopHeartbeat();
    const beat = () =>
      this.send({
        type: 'heartbeat',
        v: PROTOCOL_VERSION,
        sentAt: new Date().toISOString(),
        ...this.options.heartbeat(),
      });
    beat();
    this.heartbeatTimer = setInterval(beat, intervalMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** Ping the collector; end a connection that has answered nothing since the last ping. */
  private startLiveness(socket: WebSocket): void {
    this.stopLiveness();
    const intervalMs = this.options.livenessIntervalMs ?? 15_000;
    let answered = true;
    const heard = () => {
      answered = true;
    };
    socket.on('pong', heard);
    socket.on('message', heard);
    this.livenessTimer = setInterval(() => {
      if (!answered) {
        this.emit('problem', {
          code: 'COLLECTOR_SILENT',
          message: `The collector has not answered for ${Math.round((2 * intervalMs) / 1000)} s: connecting again.`,
        });
        socket.terminate();
        return;
      }
      answered = false;
      socket.ping();
    }, intervalMs);
    this.livenessTimer.unref();
  }

  private stopLiveness(): void {
    clearInterval(this.livenessTimer);
    this.livenessTimer = undefined;
  }
}
