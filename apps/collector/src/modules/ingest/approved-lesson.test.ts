import { randomUUID } from 'node:crypto';

import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PolicySchema, type Capture, type Exemption, type Policy } from '@lantern/protocol';
import {
  makeCapture,
  makeEnrolRequest,
  makeExemption,
  makeHello,
  makeMatch,
  makePolicy,
} from '@lantern/protocol/testing';

import { startCollector, type RunningCollector } from '../../server.ts';
import { connectAgent, type TestAgent } from '../../test-helpers/agent-client.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { captures } from '../captures/capture.table.ts';
import { createEnrolmentToken, enrolDevice } from '../devices/enrolment.service.ts';
import { createSite } from '../organisations/site.repository.ts';

const { version: _v, siteId: _s, issuedAt: _i, groupMembers: _g, ...BODY } = makePolicy();
const HOUR_MS = 60 * 60 * 1000;

/**
 * A capture in an approved lesson does not alert, so the collector checks a device's claim
 * against the policy version it names rather than trusting a tampered agent.
 */
describe.each(DATABASE_KINDS)('approved-lesson flags at ingest on %s', (kind) => {
  let setup: TestCollectorConfig;
  let collector: RunningCollector;
  let dsl: StaffClient;
  let siteId: string;
  let agent: TestAgent;
  let deviceId: string;
  let policy: Policy;
  let exemption: Exemption;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    collector = await startCollector(setup.config);
    const site = await createSite(collector.app.database.db, { name: 'Example Academy' });
    siteId = site.siteId;
    dsl = await sessionFor(
      collector.app,
      await addStaff(collector.app, {
        organisationId: site.organisationId,
        roles: [{ role: 'dsl', siteId }],
      }),
    );
    const imported = await dsl.request(
      'POST',
      `/api/sites/${siteId}/subjects/import`,
      [
        'mis_id,given_name,family_name,year_group,tutor_group,logins',
        'P1,Ada,Example,Year 9,9R,ada.e',
        'P2,Ben,Example,Year 9,9S,ben.e',
      ].join('\n'),
      { 'content-type': 'text/csv' },
    );
    expect(imported.statusCode).toBe(200);
    exemption = makeExemption({
      id: randomUUID(),
      groups: ['9R'],
      categories: ['suicide'],
      startsAt: new Date(Date.now() - HOUR_MS).toISOString(),
      endsAt: new Date(Date.now() + HOUR_MS).toISOString(),
    });
    const changed = await dsl.request('PUT', `/api/sites/${siteId}/policy`, {
      policy: { ...BODY, exemptions: [exemption] },
      reason: 'PSHE: suicide prevention, 9R',
    });
    expect(changed.statusCode, changed.body).toBe(200);
    policy = PolicySchema.parse(changed.json());
    const { token } = await createEnrolmentToken(collector.app.database.db, { siteId });
    const enrolled = await enrolDevice(
      collector.app.database.db,
      makeEnrolRequest({ enrolmentToken: token }),
    );
    deviceId = enrolled.deviceId;
    agent = await connectAgent(collector.url, enrolled.deviceCredential);
    agent.send(makeHello({ deviceId, policyVersion: policy.version }));
    await agent.next('welcome');
  });

  afterAll(async () => {
    await agent.close();
    await collector.close();
    await setup.cleanup();
  });

  /** A capture by Ada now, claiming the lesson under the policy in force, unless told otherwise. */
  const claiming = (overrides: Partial<Capture> = {}, flags: Partial<Capture['flags']> = {}) =>
    makeCapture({
      siteId,
      deviceId,
      loginName: 'SCHOOL\\Ada.E',
      observedAt: new Date().toISOString(),
      ...overrides,
      flags: {
        inApprovedLesson: true,
        exemptionId: exemption.id,
        policyVersion: policy.version,
        ...flags,
      },
    });

  async function store(batch: Capture[]) {
    agent.send({ type: 'capture', v: 1, captures: batch });
    await agent.next('ack', (frame) => frame.captureIds.includes(batch[0]?.id ?? ''));
    const rows = await collector.app.database.db
      .select({
        id: captures.id,
        inApprovedLesson: captures.inApprovedLesson,
        exemptionId: captures.exemptionId,
      })
      .from(captures)
      .where(
        inArray(
          captures.id,
          batch.map(({ id }) => id),
        ),
      );
    return new Map(rows.map((row) => [row.id, row]));
  }

  const cleared = async () =>
    (await collector.app.metrics.approvedLessonFlagsCleared.get()).values[0]?.value ?? 0;

  it('keeps the flag of a capture the lesson covers', async () => {
    const covered = claiming();
    const stored = await store([covered]);
    expect(stored.get(covered.id)).toMatchObject({
      inApprovedLesson: true,
      exemptionId: exemption.id,
    });
  });

  it('clears the flag of a capture the lesson does not cover, so it alerts', async () => {
    const before = await cleared();
    const claims = {
      unknownLesson: claiming({}, { exemptionId: randomUUID() }),
      otherGroup: claiming({ loginName: 'ben.e' }),
      noLogin: claiming({ loginName: 'unknown' }),
      otherCategory: claiming({
        matches: [makeMatch(), makeMatch({ termId: 'drugs.weed', category: 'drugs' })],
      }),
      beforeLesson: claiming({ observedAt: new Date(Date.now() - 2 * HOUR_MS).toISOString() }),
      // A technician's policy.local.json, or any version the collector never made.
      localPolicy: claiming({}, { policyVersion: 'local-1' }),
    };
    const batch = Object.values(claims);
    const stored = await store(batch);
    for (const [name, capture] of Object.entries(claims)) {
      expect(stored.get(capture.id), name).toMatchObject({
        inApprovedLesson: false,
        exemptionId: null,
      });
    }
    expect((await cleared()) - before).toBe(batch.length);
  });

  it('keeps the flag made under an earlier version after the lesson has left the policy', async () => {
    const offline = claiming();
    const changed = await dsl.request('PUT', `/api/sites/${siteId}/policy`, {
      policy: { ...BODY, exemptions: [] },
      reason: 'the lesson is over',
    });
    expect(changed.statusCode).toBe(200);
    await agent.next('policy');
    const stored = await store([offline]);
    expect(stored.get(offline.id)).toMatchObject({
      inApprovedLesson: true,
      exemptionId: exemption.id,
    });
    // A claim under the version without the lesson is cleared.
    const late = claiming({}, { policyVersion: PolicySchema.parse(changed.json()).version });
    expect((await store([late])).get(late.id)).toMatchObject({ inApprovedLesson: false });
  });
});
