import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PolicySchema, type Policy } from '@lantern/protocol';
import { makeCapture, makeEnrolRequest, makeHello, makePolicy } from '@lantern/protocol/testing';

import { loadConfig } from '../../config.ts';
import { startCollector, type RunningCollector } from '../../server.ts';
import { connectAgent, type TestAgent } from '../../test-helpers/agent-client.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { auditLog } from '../audit/audit.table.ts';
import { createEnrolmentToken, enrolDevice } from '../devices/enrolment.service.ts';
import { createSite } from '../organisations/site.repository.ts';

const { version: _v, siteId: _s, issuedAt: _i, ...BODY } = makePolicy();

/** The policy, pushed to connected devices within seconds of a change, on any instance. */
describe.each(DATABASE_KINDS)('site policy on %s', (kind) => {
  let setup: TestCollectorConfig;
  let first: RunningCollector;
  let second: RunningCollector;
  let dsl: StaffClient;
  let siteId: string;
  let token: string;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    first = await startCollector(setup.config);
    second =
      setup.config.database.kind === 'postgres'
        ? await startCollector(
            loadConfig({
              LANTERN_PORT: '0',
              LANTERN_DATA_DIR: setup.config.dataDir,
              LANTERN_LOG_LEVEL: 'silent',
              DATABASE_URL: setup.config.database.url,
            }),
          )
        : first;
    const site = await createSite(first.app.database.db, { name: 'Example Academy' });
    siteId = site.siteId;
    ({ token } = await createEnrolmentToken(first.app.database.db, { siteId, maxUses: 10 }));
    dsl = await sessionFor(
      first.app,
      await addStaff(first.app, {
        organisationId: site.organisationId,
        roles: [{ role: 'dsl', siteId }],
      }),
    );
  });

  afterAll(async () => {
    if (second !== first) await second.close();
    await first.close();
    await setup.cleanup();
  });

  async function greeted(
    policyVersion: string | null,
  ): Promise<{ agent: TestAgent; deviceId: string }> {
    const enrolled = await enrolDevice(
      first.app.database.db,
      makeEnrolRequest({ enrolmentToken: token }),
    );
    const agent = await connectAgent(second.url, enrolled.deviceCredential);
    agent.send(makeHello({ deviceId: enrolled.deviceId, policyVersion }));
    await agent.next('welcome');
    return { agent, deviceId: enrolled.deviceId };
  }

  it('starts a site on a default policy naming the school, never screenshotting csam_iioc', async () => {
    const response = await dsl.request('GET', `/api/sites/${siteId}/policy`);
    expect(response.statusCode).toBe(200);
    const policy = PolicySchema.parse(response.json());
    expect(policy).toMatchObject({
      version: '0',
      siteId,
      banner: { schoolName: 'Example Academy' },
    });
    expect(policy.screenshots.categories.csam_iioc).toBe('off');
    expect(policy.screenshots.categories.pornography).toBe('sensitive');
  });

  it('sends a device without the current policy the policy after welcome, and one with it nothing', async () => {
    const fresh = await greeted(null);
    expect((await fresh.agent.next('policy')).policy.version).toBe('0');
    const current = await greeted('0');
    // A capture's ack comes after anything sent at hello: by then a policy would be here.
    current.agent.send({
      type: 'capture',
      v: 1,
      captures: [makeCapture({ siteId, deviceId: current.deviceId })],
    });
    await current.agent.next('ack');
    expect(current.agent.waiting().filter((frame) => frame.type === 'policy')).toEqual([]);
    await fresh.agent.close();
    await current.agent.close();
  });

  it('pushes a changed policy to connected devices (on every instance) and logs who and why', async () => {
    const { agent } = await greeted('0');
    const response = await dsl.request('PUT', `/api/sites/${siteId}/policy`, {
      policy: { ...BODY, spool: { maxBytes: 64 * 1024 * 1024, maxAgeDays: 30 } },
      reason: 'smaller spool for the Year 7 netbooks',
    });
    expect(response.statusCode, response.body).toBe(200);
    const made = response.json<Policy>();
    expect(made).toMatchObject({ version: '1', siteId });
    const pushed = await agent.next('policy', (frame) => frame.policy.version === '1');
    expect(pushed.policy.spool).toEqual({ maxBytes: 64 * 1024 * 1024, maxAgeDays: 30 });
    const logged = await first.app.database.db
      .select({ reason: auditLog.reason, actorId: auditLog.actorId })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'policy.changed'), eq(auditLog.siteId, siteId)));
    expect(logged).toEqual([
      { reason: 'smaller spool for the Year 7 netbooks', actorId: dsl.session.user.id },
    ]);
    await agent.close();
  });

  it('refuses a policy that would screenshot csam_iioc, saying why', async () => {
    const response = await dsl.request('PUT', `/api/sites/${siteId}/policy`, {
      policy: {
        ...BODY,
        screenshots: {
          ...BODY.screenshots,
          categories: { ...BODY.screenshots.categories, csam_iioc: 'on' },
        },
      },
      reason: 'testing',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ message: string }>().message).toMatch(/itself an offence/);
  });
});
