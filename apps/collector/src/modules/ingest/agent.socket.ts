import { createHash } from 'node:crypto';

import { eq } from 'drizzle-orm';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import type { WebSocket } from 'ws';

import {
  AGENT_WS_PATH,
  CLOSE_CODES,
  MAX_CAPTURE_BATCH,
  MAX_FRAME_BYTES,
  MAX_SCREENSHOT_BYTES,
  PROTOCOL_VERSION,
  makeErrorFrame,
  negotiateProtocolVersion,
  parseAgentFrame,
  type Capture,
  type CollectorFrame,
  type FrameError,
  type HeartbeatFrame,
  type Policy,
  type ScreenshotFrame,
  type WireErrorCode,
} from '@lantern/protocol';

import { screenshots } from '../captures/capture.table.ts';
import { devices } from '../devices/device.table.ts';
import { hashSecret } from '../devices/enrolment.service.ts';
import { checkApprovedLessons } from './approved-lesson.ts';
import { storedScreenshots } from './capture.repository.ts';

/** The device a connection authenticated as. */
export interface AgentIdentity {
  readonly deviceId: string;
  readonly siteId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    agent?: AgentIdentity;
  }
}

/** How long a new connection has to say hello. */
export const HELLO_TIMEOUT_MS = 10_000;
/** Per device: a burst of this many frames, refilled at FRAMES_PER_SECOND. */
const FRAME_BURST = 200;
const FRAMES_PER_SECOND = 50;
const HEARTBEAT_INTERVAL_MS = 60_000;

/** Counts of what ingest refused, by code, for /metrics. */
export class IngestCounters {
  readonly rejected = new Map<WireErrorCode, number>();
  connections = 0;

  private readonly onReject: ((code: WireErrorCode) => void) | undefined;

  constructor(onReject?: (code: WireErrorCode) => void) {
    this.onReject = onReject;
  }

  reject(code: WireErrorCode): void {
    this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
    this.onReject?.(code);
  }
}

/** A connection as the registry sees it. */
export interface ConnectedAgent {
  readonly socket: WebSocket;
  readonly siteId: string;
  /** Send a new policy, once the agent has said hello. */
  pushPolicy(policy: Policy): void;
}

/** Who is connected on this instance, so a revoked device is cut off and policies reach them. */
export class AgentRegistry {
  private readonly agents = new Map<string, ConnectedAgent>();

  add(deviceId: string, agent: ConnectedAgent): void {
    // A device reconnecting replaces its old connection (e.g. after a network change).
    this.agents.get(deviceId)?.socket.close(CLOSE_CODES.replaced, 'replaced by a newer connection');
    this.agents.set(deviceId, agent);
  }

  remove(deviceId: string, socket: WebSocket): void {
    if (this.agents.get(deviceId)?.socket === socket) this.agents.delete(deviceId);
  }

  disconnect(deviceId: string, code: number, reason: string): void {
    this.agents.get(deviceId)?.socket.close(code, reason);
  }

  /** The devices connected to this instance. */
  deviceIds(): string[] {
    return [...this.agents.keys()];
  }

  /** The sites that have devices connected to this instance. */
  siteIds(): string[] {
    return [...new Set([...this.agents.values()].map((agent) => agent.siteId))];
  }

  /** Send a site's connected devices its new policy. @returns how many were sent it. */
  pushPolicy(policy: Policy): number {
    let sent = 0;
    for (const agent of this.agents.values()) {
      if (agent.siteId !== policy.siteId) continue;
      agent.pushPolicy(policy);
      sent += 1;
    }
    return sent;
  }

  closeAll(code: number, reason: string): void {
    for (const agent of this.agents.values()) agent.socket.close(code, reason);
  }

  get size(): number {
    return this.agents.size;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    agents: AgentRegistry;
    ingestCounters: IngestCounters;
  }
}

/** Authenticates the upgrade request with `Authorization: Bearer <device credential>`. */
async function authenticateDevice(
  this: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer ([A-Za-z0-9_-]{24,256})$/.exec(header);
  if (!match?.[1]) {
    await reply.code(401).send({
      code: 'AUTH_REQUIRED',
      message: 'Send the device credential from enrolment as "Authorization: Bearer <credential>".',
    });
    return;
  }
  const [device] = await this.database.db
    .select({ id: devices.id, siteId: devices.siteId, revokedAt: devices.revokedAt })
    .from(devices)
    .where(eq(devices.credentialHash, hashSecret(match[1])));
  if (!device) {
    await reply.code(401).send({
      code: 'AUTH_REJECTED',
      message: 'This device credential is not known: enrol the device again.',
    });
    return;
  }
  if (device.revokedAt) {
    await reply.code(403).send({
      code: 'DEVICE_REVOKED',
      message:
        'This device was revoked by a technician: it must be enrolled again to send captures.',
    });
    return;
  }
  request.agent = { deviceId: device.id, siteId: device.siteId };
}

/**
 * One agent's connection: hello first, then captures, screenshots and heartbeats, handled
 * in the order they arrive (a screenshot before the capture that references it). Bad
 * frames get an error frame and are counted; the socket stays open.
 */
class AgentConnection {
  private readonly socket: WebSocket;
  private readonly agent: AgentIdentity;
  private readonly app: Parameters<FastifyPluginAsync>[0];
  private readonly log: FastifyBaseLogger;
  private greeted = false;
  private queue: Promise<void> = Promise.resolve();
  private tokens = FRAME_BURST;
  private refilledAt = Date.now();
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    socket: WebSocket,
    agent: AgentIdentity,
    app: Parameters<FastifyPluginAsync>[0],
    log: FastifyBaseLogger,
  ) {
    this.socket = socket;
    this.agent = agent;
    this.app = app;
    this.log = log;
    this.helloTimer = setTimeout(
      () => socket.close(CLOSE_CODES.helloTimeout, 'no hello in time'),
      HELLO_TIMEOUT_MS,
    );
    this.helloTimer.unref();
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      // Handled one after another; a failure is answered, never thrown out of the socket.
      const arrivedAt = process.hrtime.bigint();
      this.queue = this.queue
        .then(() => this.onMessage(data, isBinary, arrivedAt))
        .catch((error: unknown) => {
          this.log.error({ err: error, deviceId: agent.deviceId }, 'agent frame failed');
          this.sendError({
            code: 'INTERNAL',
            message: 'The collector could not handle that frame; send it again later.',
          });
        });
    });
    socket.on('close', () => {
      clearTimeout(this.helloTimer);
      app.agents.remove(agent.deviceId, socket);
      app.ingestCounters.connections -= 1;
    });
    socket.on('error', (error) =>
      this.log.warn({ err: error, deviceId: agent.deviceId }, 'agent socket error'),
    );
    app.agents.add(agent.deviceId, {
      socket,
      siteId: agent.siteId,
      pushPolicy: (policy) => {
        if (this.greeted) this.send({ type: 'policy', v: PROTOCOL_VERSION, policy });
      },
    });
    app.ingestCounters.connections += 1;
  }

  private send(frame: CollectorFrame): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private sendError(error: FrameError & { sha256?: string; retryAfterMs?: number }): void {
    this.app.ingestCounters.reject(error.code);
    this.send(makeErrorFrame(error));
  }

  private takeToken(): boolean {
    const now = Date.now();
    this.tokens = Math.min(
      FRAME_BURST,
      this.tokens + ((now - this.refilledAt) / 1000) * FRAMES_PER_SECOND,
    );
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private async onMessage(data: Buffer, isBinary: boolean, arrivedAt: bigint): Promise<void> {
    if (!this.takeToken()) {
      this.sendError({
        code: 'RATE_LIMITED',
        message: `More than ${FRAMES_PER_SECOND} frames a second: slow down and resend what was not acknowledged.`,
        retryAfterMs: 1_000,
      });
      return;
    }
    if (isBinary) {
      this.sendError({
        code: 'FRAME_NOT_JSON',
        message: 'Binary frames are not part of the protocol: send JSON text frames.',
      });
      return;
    }
    const parsed = parseAgentFrame(data);
    if (!parsed.ok) {
      this.sendError(parsed.error);
      return;
    }
    const frame = parsed.frame;
    if (frame.type === 'hello') {
      await this.onHello(frame.deviceId, frame.protocolVersions, frame.policyVersion);
      return;
    }
    if (!this.greeted) {
      this.sendError({
        code: 'HELLO_REQUIRED',
        message: `The first frame must be hello; got ${frame.type}.`,
      });
      return;
    }
    switch (frame.type) {
      case 'capture':
        for (const rejection of parsed.rejected) this.sendError(rejection);
        await this.onCaptures(frame.captures, arrivedAt);
        return;
      case 'screenshot':
        await this.onScreenshot(frame);
        return;
      case 'heartbeat':
        await this.onHeartbeat(frame);
        return;
    }
  }

  private async onHello(
    deviceId: string,
    offered: readonly number[],
    heldPolicy: string | null,
  ): Promise<void> {
    if (this.greeted) {
      this.sendError({ code: 'HELLO_REPEATED', message: 'This connection already said hello.' });
      return;
    }
    if (deviceId !== this.agent.deviceId) {
      this.sendError({
        code: 'DEVICE_MISMATCH',
        message:
          "The hello names another device than the credential: check the agent's configuration.",
      });
      this.socket.close(CLOSE_CODES.authRejected, 'device mismatch');
      return;
    }
    const version = negotiateProtocolVersion(offered);
    if (version === undefined) {
      this.sendError({
        code: 'PROTOCOL_UNSUPPORTED',
        message: `This collector speaks protocol v${PROTOCOL_VERSION}; the agent offers ${offered.join(', ')}. Update the agent.`,
      });
      this.socket.close(CLOSE_CODES.protocolUnsupported, 'no common protocol version');
      return;
    }
    // Greeted only once the welcome can be sent: if the policy cannot be read (the database
    // is down), the agent gets an error and may say hello again on the same socket.
    const policy = await this.app.policyCache.current(this.agent.siteId);
    clearTimeout(this.helloTimer);
    this.greeted = true;
    this.send({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      protocolVersion: version,
      deviceId: this.agent.deviceId,
      siteId: this.agent.siteId,
      serverTime: new Date().toISOString(),
      policyVersion: policy.version,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      limits: {
        maxFrameBytes: MAX_FRAME_BYTES,
        maxCaptureBatch: MAX_CAPTURE_BATCH,
        maxScreenshotBytes: MAX_SCREENSHOT_BYTES,
      },
    });
    // A device without the current policy (new, or offline while it changed) gets it now.
    if (heldPolicy !== policy.version) this.send({ type: 'policy', v: PROTOCOL_VERSION, policy });
  }

  private async onCaptures(batch: readonly Capture[], arrivedAt: bigint): Promise<void> {
    const ours = batch.filter((capture) => {
      if (capture.deviceId === this.agent.deviceId && capture.siteId === this.agent.siteId)
        return true;
      this.sendError({
        code: 'CAPTURE_SITE_MISMATCH',
        message: 'This capture names another device or site than the connection.',
        captureId: capture.id,
      });
      return false;
    });
    const wanted = ours.flatMap((capture) =>
      capture.screenshot.status === 'attached' ? [capture.screenshot.sha256] : [],
    );
    const present = await storedScreenshots(this.app.database.db, wanted);
    const ready = ours.filter((capture) => {
      if (capture.screenshot.status !== 'attached' || present.has(capture.screenshot.sha256))
        return true;
      this.sendError({
        code: 'SCREENSHOT_MISSING',
        message: "Send this capture's screenshot first, then the capture again.",
        captureId: capture.id,
        sha256: capture.screenshot.sha256,
      });
      return false;
    });
    if (ready.length === 0) return;
    const checked = await checkApprovedLessons(ready, (siteId, version) =>
      this.app.policyCache.version(siteId, version),
    );
    for (const capture of checked.cleared) {
      this.log.warn(
        {
          deviceId: this.agent.deviceId,
          captureId: capture.id,
          exemptionId: capture.flags.exemptionId,
          policyVersion: capture.flags.policyVersion,
        },
        'approved-lesson flag cleared: the policy the capture names does not cover it',
      );
      this.app.metrics.approvedLessonFlagsCleared.inc();
    }
    await this.app.groupCommitter.submit(checked.captures);
    // Only now, after commit, may the agent delete them from its spool.
    this.send({ type: 'ack', v: PROTOCOL_VERSION, captureIds: ready.map((capture) => capture.id) });
    this.app.metrics.capturesStored.inc(ready.length);
    this.app.metrics.ackLatency.observe(Number(process.hrtime.bigint() - arrivedAt) / 1e9);
    this.log.debug({ deviceId: this.agent.deviceId, count: ready.length }, 'captures stored');
  }

  private async onScreenshot(frame: ScreenshotFrame): Promise<void> {
    const bytes = Buffer.from(frame.data, 'base64');
    if (bytes.byteLength > MAX_SCREENSHOT_BYTES) {
      this.sendError({
        code: 'SCREENSHOT_TOO_LARGE',
        message: `The screenshot is ${bytes.byteLength} bytes; the limit is ${MAX_SCREENSHOT_BYTES}. Scale or compress it more.`,
        sha256: frame.sha256,
      });
      return;
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== frame.sha256) {
      this.sendError({
        code: 'SCREENSHOT_HASH_MISMATCH',
        message:
          "The screenshot's bytes do not match its sha256: it was damaged on the way; send it again.",
        sha256: frame.sha256,
      });
      return;
    }
    await this.app.blobStore.put(frame.sha256, bytes);
    await this.app.database.db
      .insert(screenshots)
      .values({
        sha256: frame.sha256,
        mediaType: frame.mediaType,
        bytes: bytes.byteLength,
        width: frame.width,
        height: frame.height,
      })
      .onConflictDoNothing();
    this.send({ type: 'screenshot_ack', v: PROTOCOL_VERSION, sha256: frame.sha256 });
  }

  private async onHeartbeat(frame: HeartbeatFrame): Promise<void> {
    const [device] = await this.app.database.db
      .update(devices)
      .set({
        lastSeenAt: new Date(),
        lastLoginName: frame.loginName,
        lastSession: frame.session,
        health: frame.health,
        policyVersion: frame.policyVersion,
      })
      .where(eq(devices.id, this.agent.deviceId))
      .returning({ revokedAt: devices.revokedAt });
    // The backstop if a revocation notice was missed (a listener reconnecting).
    if (device?.revokedAt) this.socket.close(CLOSE_CODES.deviceRevoked, 'device revoked');
  }
}

/** WebSocket `/v1/agent`: where every device streams its captures. */
export const agentSocketRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    AGENT_WS_PATH,
    { websocket: true, preValidation: authenticateDevice },
    (socket, request) => {
      const agent = request.agent;
      if (!agent) {
        socket.close(CLOSE_CODES.authRejected, 'not authenticated');
        return;
      }
      new AgentConnection(socket, agent, app, request.log);
    },
  );
};
