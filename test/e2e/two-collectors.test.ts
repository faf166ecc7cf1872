import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CaptureListResponseSchema,
  CLOSE_CODES,
  DeviceSummarySchema,
  EnrolmentTokenCreatedSchema,
  type DeviceSummary,
} from '@lantern/protocol';
import { makeHeartbeat } from '@lantern/protocol/testing';

import {
  makeDeviceCaptures,
  openAgentConnection,
  ResendingAgent,
  type AgentConnection,
  type DeviceCredentials,
} from '../helpers/agent.ts';
import {
  collectorEnv,
  createSite,
  createStaffUser,
  enrolDevice,
  startCollector,
  type ServingCollector,
} from '../helpers/collector.ts';
import { createDatabase } from '../helpers/postgres.ts';
import { setUpTotp, signIn, type StaffApi } from '../helpers/staff-api.ts';
import { waitUntil } from '../helpers/wait.ts';

const DeviceListSchema = {
  parse: (value: unknown) => ({
    items: DeviceSummarySchema.array().parse((value as { items?: unknown } | null)?.items),
  }),
};

/** What the close of `connection` was, or a loud failure if it stays open for `withinMs`. */
async function closeWithin(
  connection: AgentConnection,
  withinMs: number,
): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the connection was still open after ${withinMs} ms`)),
      withinMs,
    );
  });
  try {
    return await Promise.race([connection.closed(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('two collector instances on one PostgreSQL database', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  const dataDirs: string[] = [];
  let a: ServingCollector;
  let b: ServingCollector;
  let siteId: string;
  let technicianOnA: StaffApi;
  let technicianOnB: StaffApi;
  let dsl: { email: string; password: string };
  /** Made through A's API in beforeAll; every device of these tests enrols with it. */
  let enrolmentToken: string;
  const agents: ResendingAgent[] = [];
  const connections: AgentConnection[] = [];
  let hostnames = 0;

  const enrolThrough = (collector: ServingCollector): Promise<DeviceCredentials> =>
    enrolDevice(
      collector.url,
      enrolmentToken,
      `TWO-PC${String((hostnames += 1)).padStart(2, '0')}`,
    );

  const listDevices = async (api: StaffApi): Promise<DeviceSummary[]> =>
    (await api.expectJson(DeviceListSchema, 'GET', `/api/sites/${siteId}/devices`)).items;

  beforeAll(async () => {
    database = await createDatabase();
    // Both instances must share the key that seals second-factor secrets.
    const secretKey = randomBytes(32).toString('base64');
    const envFor = async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'lantern-two-'));
      dataDirs.push(dataDir);
      return collectorEnv({ databaseUrl: database.url, dataDir, secretKey });
    };
    const [envA, envB] = [await envFor(), await envFor()];
    siteId = await createSite(envA, 'Two Instances Academy');
    const technician = await createStaffUser(envA, {
      email: 'tech@two.example',
      name: 'Tech',
      role: 'technician',
      siteId,
    });
    dsl = await createStaffUser(envA, {
      email: 'dsl@two.example',
      name: 'Dee',
      role: 'dsl',
      siteId,
    });
    [a, b] = await Promise.all([startCollector(envA), startCollector(envB)]);
    [technicianOnA, technicianOnB] = await Promise.all([
      signIn(a.url, technician),
      signIn(b.url, technician),
    ]);
    const made = await technicianOnA.expectJson(
      EnrolmentTokenCreatedSchema,
      'POST',
      `/api/sites/${siteId}/enrolment-tokens`,
      { body: { label: 'two instances', maxUses: 50, days: 1 }, status: 201 },
    );
    enrolmentToken = made.token;
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await Promise.all(connections.map((connection) => connection.close()));
    await Promise.all([a?.process.stop('SIGKILL'), b?.process.stop('SIGKILL')]);
    await database?.drop();
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('enrols a device on B with an enrolment token made through A, and A lists it', async () => {
    const device = await enrolThrough(b);
    expect(device.siteId).toBe(siteId);
    const onA = await listDevices(technicianOnA);
    expect(onA.map((each) => each.id)).toContain(device.deviceId);
    // The credential B issued is good on A too.
    const connection = await openAgentConnection(a.url, device);
    connections.push(connection);
    expect(connection.welcome.deviceId).toBe(device.deviceId);
  });

  it("lists captures sent through A in B's API (a DSL who set up a second factor on B)", async () => {
    const device = await enrolThrough(a);
    const agent = new ResendingAgent({ baseUrl: a.url, device }).start();
    agents.push(agent);
    const captures = makeDeviceCaptures(device, 60);
    agent.enqueue(captures);
    await waitUntil('A acknowledges every capture', () => agent.unackedCount === 0, {
      detail: () => agent.describe(),
    });

    const dslOnB = await signIn(b.url, dsl);
    expect(dslOnB.session.mfa).toBe('setup_required');
    await setUpTotp(dslOnB);
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `deviceId=${device.deviceId}&order=newest&limit=50${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await dslOnB.expectJson(
        CaptureListResponseSchema,
        'GET',
        `/api/sites/${siteId}/captures?${query}`,
      );
      listed.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(listed.sort()).toEqual(captures.map((capture) => capture.id).sort());
  });

  it("shows on B a device enrolled through A, with the last-seen time of B's heartbeats, and A agrees", async () => {
    const device = await enrolThrough(a);
    const before = await listDevices(technicianOnB);
    expect(before.find((each) => each.id === device.deviceId)?.lastSeenAt).toBeNull();

    const connection = await openAgentConnection(b.url, device);
    connections.push(connection);
    const sentAt = Date.now();
    connection.send(
      makeHeartbeat({ sentAt: new Date(sentAt).toISOString(), loginName: 'pupil.seen' }),
    );
    let seen: DeviceSummary | undefined;
    await waitUntil(
      "B's device list shows the heartbeat",
      async () => {
        seen = (await listDevices(technicianOnB)).find((each) => each.id === device.deviceId);
        return seen?.lastSeenAt !== null && seen?.lastSeenAt !== undefined;
      },
      { detail: () => JSON.stringify(seen) },
    );
    expect(seen).toMatchObject({ lastLoginName: 'pupil.seen', lastSession: 'active' });
    expect(Date.parse(seen?.lastSeenAt ?? '')).toBeGreaterThanOrEqual(sentAt - 1_000);
    const onA = (await listDevices(technicianOnA)).find((each) => each.id === device.deviceId);
    expect(onA?.lastSeenAt).toBe(seen?.lastSeenAt);
  });

  it('refuses a new connection on B from a device revoked through A', async () => {
    const device = await enrolThrough(a);
    const before = await openAgentConnection(b.url, device);
    await before.close();

    const revoke = await technicianOnA.request('POST', `/api/devices/${device.deviceId}/revoke`);
    expect(revoke.status).toBe(204);
    await expect(openAgentConnection(b.url, device)).rejects.toMatchObject({
      statusCode: 403,
      body: expect.stringContaining('DEVICE_REVOKED'),
    });
    const onB = (await listDevices(technicianOnB)).find((each) => each.id === device.deviceId);
    expect(onB?.revokedAt).not.toBeNull();
  });

  it('disconnects with 4403, within 5 s, a device revoked through A while it is connected to B', async () => {
    const device = await enrolThrough(a);
    const connection = await openAgentConnection(b.url, device);
    connections.push(connection);

    const revoke = await technicianOnA.request('POST', `/api/devices/${device.deviceId}/revoke`);
    expect(revoke.status).toBe(204);
    // No heartbeat is sent: the other instance must act on the revocation by itself.
    const closed = await closeWithin(connection, 5_000);
    expect(closed.code).toBe(CLOSE_CODES.deviceRevoked);
  });
});
