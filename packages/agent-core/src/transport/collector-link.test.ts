import { connect, createServer, type Server, type Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { makeCapture } from '@lantern/protocol/testing';

import { startTestCollector, type TestCollector } from '../test-helpers/collector.ts';
import {
  CollectorLink,
  agentSocketUrl,
  type Outbound,
  type OutboundQueue,
} from './collector-link.ts';
import { enrol, type Identity } from './enrol.ts';

/** The spool's contract, in memory: for the link's own tests (the spool has its own). */
class MemoryQueue implements OutboundQueue {
  readonly items = new Map<string, Outbound>();
  readonly rejectedIds: string[] = [];
  private waiters: (() => void)[] = [];

  add(outbound: Outbound): void {
    this.items.set(outbound.capture.id, outbound);
  }

  async pending(limit: number): Promise<readonly Outbound[]> {
    return [...this.items.values()].slice(0, limit);
  }

  async acked(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.items.delete(id);
    if (this.items.size === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  async rejected(id: string): Promise<void> {
    this.items.delete(id);
    this.rejectedIds.push(id);
  }

  drained(): Promise<void> {
    return this.items.size === 0
      ? Promise.resolve()
      : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * A TCP relay to the collector that can go silent: `stall()` stops passing bytes either way
 * while every connection stays open, as a vanished host or a dropping network does.
 */
async function stallingRelay(target: string): Promise<{
  url: string;
  connections: () => number;
  stall(): void;
  close(): Promise<void>;
}> {
  const { hostname, port } = new URL(target);
  let stalled = false;
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    count += 1;
    const outbound = connect(Number(port), hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    inbound.on('data', (chunk) => stalled || outbound.write(chunk));
    outbound.on('data', (chunk) => stalled || inbound.write(chunk));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the relay has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections: () => count,
    stall: () => {
      stalled = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const HEALTH = {
  loginName: 'pupil.test',
  session: 'active' as const,
  policyVersion: null,
  banner: null,
  health: {
    sources: {
      window_title: 'running' as const,
      typed: 'running' as const,
      clipboard: 'running' as const,
      screenshot: 'running' as const,
    },
    spool: { depth: 0, bytes: 0, oldestObservedAt: null },
    droppedCount: 0,
    lastError: null,
    uptimeS: 1,
  },
};

describe('the link to the collector (a real collector on PGlite)', () => {
  let collector: TestCollector;
  let identity: Identity;

  beforeAll(async () => {
    collector = await startTestCollector();
    identity = await enrol({
      collectorUrl: collector.url,
      enrolmentToken: collector.token,
      agentVersion: '0.1.0',
    });
  });

  afterAll(async () => {
    await collector.cleanup();
  });

  const linkFor = (queue: OutboundQueue) =>
    new CollectorLink({
      collectorUrl: collector.url,
      deviceId: identity.deviceId,
      credential: identity.credential,
      agentVersion: '0.1.0',
      queue,
      policyVersion: () => null,
      heartbeat: () => HEALTH,
      backoff: { initialMs: 50, maxMs: 500 },
    });

  /** The rows the collector's database holds for these ids (once each, or the count is off). */
  const stored = async (ids: string[]) => {
    const db = collector.running?.app.database.db;
    if (!db) throw new Error('the collector is not running');
    const list = ids.map((id) => `'${id}'`).join(',');
    const result = await db.execute<{ id: string }>(
      `select id from captures where id in (${list})`,
    );
    return result.rows;
  };

  it('derives the WebSocket address from the collector’s base address', () => {
    expect(agentSocketUrl('http://school.example:8080')).toBe('ws://school.example:8080/v1/agent');
    expect(agentSocketUrl('https://lantern.example.org/base/')).toBe(
      'wss://lantern.example.org/base/v1/agent',
    );
  });

  it('refuses enrolment clearly: an unknown token, and a collector that is not there', async () => {
    await expect(
      enrol({
        collectorUrl: collector.url,
        enrolmentToken: 'lntenr_thisTokenIsNotKnownToTheCollector000000',
        agentVersion: '0.1.0',
      }),
    ).rejects.toMatchObject({ code: 'ENROL_REFUSED', message: /ENROL_TOKEN_INVALID/ });
    await expect(
      enrol({
        collectorUrl: 'http://127.0.0.1:9',
        enrolmentToken: collector.token,
        agentVersion: '0.1.0',
      }),
    ).rejects.toMatchObject({
      code: 'COLLECTOR_UNREACHABLE',
      message: /Cannot reach the collector/,
    });
  });

  it('sends what is queued, and the collector acknowledges every capture once stored', async () => {
    const queue = new MemoryQueue();
    const ids: string[] = [];
    for (let index = 0; index < 150; index += 1) {
      const capture = makeCapture({ siteId: identity.siteId, deviceId: identity.deviceId });
      ids.push(capture.id);
      queue.add({ capture });
    }
    const link = linkFor(queue);
    link.start();
    await queue.drained();
    await link.stop();
    expect(await stored(ids)).toHaveLength(150);
  });

  it('goes offline when the collector stops, reconnects when it is back, and loses nothing', async () => {
    const queue = new MemoryQueue();
    const link = linkFor(queue);
    const states: string[] = [];
    link.on('state', (state) => states.push(state));
    link.start();
    await new Promise<void>((resolve) =>
      link.once('state', (state) => state === 'online' && resolve()),
    );
    await collector.stop();
    const ids: string[] = [];
    for (let index = 0; index < 40; index += 1) {
      const capture = makeCapture({ siteId: identity.siteId, deviceId: identity.deviceId });
      ids.push(capture.id);
      queue.add({ capture });
    }
    link.notify();
    await collector.restart();
    await queue.drained();
    await link.stop();
    expect(states).toContain('offline');
    expect(await stored(ids)).toHaveLength(40);
  });

  it('gives up a connection that has gone silent and sends what was unacked on a new one', async () => {
    const relay = await stallingRelay(collector.url);
    const queue = new MemoryQueue();
    const link = new CollectorLink({
      collectorUrl: relay.url,
      deviceId: identity.deviceId,
      credential: identity.credential,
      agentVersion: '0.1.0',
      queue,
      policyVersion: () => null,
      heartbeat: () => HEALTH,
      backoff: { initialMs: 50, maxMs: 200 },
      livenessIntervalMs: 200,
    });
    const problems: string[] = [];
    link.on('problem', ({ code }) => problems.push(code));
    link.start();
    await new Promise<void>((resolve) =>
      link.on('state', (state) => state === 'online' && resolve()),
    );
    relay.stall();
    const capture = makeCapture({ siteId: identity.siteId, deviceId: identity.deviceId });
    queue.add({ capture });
    link.notify();
    // Silent, not closed: only the link's own check can notice, and it connects again.
    await vi.waitFor(() => expect(relay.connections()).toBe(2), { timeout: 5_000 });
    expect(problems).toContain('COLLECTOR_SILENT');
    await link.stop();
    await relay.close();
    // The relay's second connection is stalled too: send the capture straight, as a new link would.
    const direct = linkFor(queue);
    direct.start();
    await queue.drained();
    await direct.stop();
    expect(await stored([capture.id])).toHaveLength(1);
  });

  it('stops for good when the device is revoked', async () => {
    const revokedIdentity = await enrol({
      collectorUrl: collector.url,
      enrolmentToken: collector.token,
      agentVersion: '0.1.0',
    });
    await collector.running?.app.database.db.execute(
      `update devices set revoked_at = now() where id = '${revokedIdentity.deviceId}'`,
    );
    const link = new CollectorLink({
      collectorUrl: collector.url,
      deviceId: revokedIdentity.deviceId,
      credential: revokedIdentity.credential,
      agentVersion: '0.1.0',
      queue: new MemoryQueue(),
      policyVersion: () => null,
      heartbeat: () => HEALTH,
    });
    const fatal = new Promise((resolve) => link.once('fatal', resolve));
    link.start();
    expect(await fatal).toMatchObject({ code: 'DEVICE_REVOKED' });
    expect(link.state).toBe('stopped');
  });

  it('hands on the policy the collector sends at hello', async () => {
    const link = linkFor(new MemoryQueue());
    const policy = new Promise((resolve) => link.once('policy', resolve));
    link.start();
    expect(await policy).toMatchObject({ version: '0', siteId: identity.siteId });
    await link.stop();
  });
});
