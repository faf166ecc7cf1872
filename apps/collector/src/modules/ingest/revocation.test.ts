import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLOSE_CODES } from '@lantern/protocol';
import { makeEnrolRequest, makeHeartbeat, makeHello } from '@lantern/protocol/testing';

import { loadConfig } from '../../config.ts';
import { startCollector, type RunningCollector } from '../../server.ts';
import { connectAgent, type TestAgent } from '../../test-helpers/agent-client.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { devices } from '../devices/device.table.ts';
import { createEnrolmentToken, enrolDevice } from '../devices/enrolment.service.ts';
import { createSite } from '../organisations/site.repository.ts';

/**
 * A revoked device is cut off wherever it is connected: on PostgreSQL the revocation
 * travels to every collector instance by NOTIFY; with embedded PGlite there is one.
 */
describe.each(DATABASE_KINDS)('revoking a connected device on %s', (kind) => {
  let setup: TestCollectorConfig;
  /** Where the technician revokes. */
  let first: RunningCollector;
  /** Where the device is connected: another instance on PostgreSQL, the same on PGlite. */
  let second: RunningCollector;
  let technician: StaffClient;
  let token: string;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    first = await startCollector(setup.config);
    second =
      kind === 'postgres'
        ? await startCollector(
            loadConfig({
              LANTERN_PORT: '0',
              LANTERN_DATA_DIR: setup.config.dataDir,
              LANTERN_LOG_LEVEL: 'silent',
              DATABASE_URL:
                setup.config.database.kind === 'postgres' ? setup.config.database.url : '',
            }),
          )
        : first;
    const { siteId, organisationId } = await createSite(first.app.database.db, {
      name: 'Example Academy',
    });
    ({ token } = await createEnrolmentToken(first.app.database.db, { siteId, maxUses: 10 }));
    technician = await sessionFor(
      first.app,
      await addStaff(first.app, { organisationId, roles: [{ role: 'technician', siteId }] }),
    );
  });

  afterAll(async () => {
    if (second !== first) await second.close();
    await first.close();
    await setup.cleanup();
  });

  async function connectedDevice(): Promise<{ agent: TestAgent; deviceId: string }> {
    const enrolled = await enrolDevice(
      first.app.database.db,
      makeEnrolRequest({ enrolmentToken: token }),
    );
    const agent = await connectAgent(second.url, enrolled.deviceCredential);
    agent.send(makeHello({ deviceId: enrolled.deviceId }));
    await agent.next('welcome');
    return { agent, deviceId: enrolled.deviceId };
  }

  it('closes the device’s socket with 4403 when a technician revokes it', async () => {
    const { agent, deviceId } = await connectedDevice();
    const closed = agent.closed();
    const response = await technician.request('POST', `/api/devices/${deviceId}/revoke`);
    expect(response.statusCode).toBe(204);
    expect(await closed).toMatchObject({ code: CLOSE_CODES.deviceRevoked });
  });

  it('closes it at the next heartbeat when the notice never came', async () => {
    const { agent, deviceId } = await connectedDevice();
    const closed = agent.closed();
    // Revoked behind the collectors' backs: no NOTIFY.
    await first.app.database.db
      .update(devices)
      .set({ revokedAt: new Date() })
      .where(eq(devices.id, deviceId));
    agent.send(makeHeartbeat());
    expect(await closed).toMatchObject({ code: CLOSE_CODES.deviceRevoked });
  });
});
