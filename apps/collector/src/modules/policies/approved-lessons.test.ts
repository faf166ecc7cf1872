import { randomUUID } from 'node:crypto';

import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  MAX_GROUP_MEMBERS,
  PolicySchema,
  loginDigest,
  type Exemption,
  type Policy,
} from '@lantern/protocol';
import { makeEnrolRequest, makeExemption, makeHello, makePolicy } from '@lantern/protocol/testing';

import { startCollector, type RunningCollector } from '../../server.ts';
import { connectAgent } from '../../test-helpers/agent-client.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { auditLog } from '../audit/audit.table.ts';
import { createEnrolmentToken, enrolDevice } from '../devices/enrolment.service.ts';
import { createSite } from '../organisations/site.repository.ts';
import { subjectLogins, subjects } from '../subjects/subject.table.ts';

const { version: _v, siteId: _s, issuedAt: _i, groupMembers: _g, ...BODY } = makePolicy();
const HOUR_MS = 60 * 60 * 1000;

/** Synthetic pupils (and a member of staff) as an MIS export lists them. */
const MIS_EXPORT = [
  'mis_id,kind,given_name,family_name,year_group,tutor_group,logins',
  'P1,pupil,Ada,Example,Year 9,9R,SCHOOL\\ada.e',
  'P2,pupil,Ben,Example,9,9S,ben.e;BEN.E2',
  'P3,pupil,Cy,Example,Year 10,10R,cy.e',
  'S1,staff,Dee,Example,,9R,dee.e',
].join('\n');

/** A lesson for `groups`, live from an hour ago to an hour from now unless told. */
function lesson(groups: string[], overrides: Partial<Exemption> = {}): Exemption {
  return makeExemption({
    id: randomUUID(),
    groups,
    categories: ['self_harm', 'suicide'],
    startsAt: new Date(Date.now() - HOUR_MS).toISOString(),
    endsAt: new Date(Date.now() + HOUR_MS).toISOString(),
    ...overrides,
  });
}

/** Approved lessons in the policy devices receive: who is in their groups, resolved and kept current. */
describe.each(DATABASE_KINDS)('approved lessons in the policy on %s', (kind) => {
  let setup: TestCollectorConfig;
  let collector: RunningCollector;
  let dsl: StaffClient;
  let siteId: string;
  let token: string;
  const digest = (login: string) => loginDigest(siteId, login);

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    collector = await startCollector(setup.config);
    const site = await createSite(collector.app.database.db, { name: 'Example Academy' });
    siteId = site.siteId;
    ({ token } = await createEnrolmentToken(collector.app.database.db, { siteId, maxUses: 10 }));
    dsl = await sessionFor(
      collector.app,
      await addStaff(collector.app, {
        organisationId: site.organisationId,
        roles: [{ role: 'dsl', siteId }],
      }),
    );
    expect((await importCsv(MIS_EXPORT)).statusCode).toBe(200);
  });

  afterAll(async () => {
    await collector.close();
    await setup.cleanup();
  });

  const importCsv = (csv: string) =>
    dsl.request('POST', `/api/sites/${siteId}/subjects/import`, csv, {
      'content-type': 'text/csv',
    });

  async function change(exemptions: Exemption[]): Promise<Policy> {
    const response = await dsl.request('PUT', `/api/sites/${siteId}/policy`, {
      policy: { ...BODY, exemptions },
      reason: 'PSHE lessons this week',
    });
    expect(response.statusCode, response.body).toBe(200);
    return PolicySchema.parse(response.json());
  }

  const current = async () =>
    PolicySchema.parse((await dsl.request('GET', `/api/sites/${siteId}/policy`)).json());

  it("sends devices each lesson's groups as digests of its pupils' logins, never staff or names", async () => {
    const enrolled = await enrolDevice(
      collector.app.database.db,
      makeEnrolRequest({ enrolmentToken: token }),
    );
    const agent = await connectAgent(collector.url, enrolled.deviceCredential);
    agent.send(makeHello({ deviceId: enrolled.deviceId, policyVersion: null }));
    await agent.next('policy');

    const made = await change([lesson(['9R', 'year 9']), lesson(['9X/Ma1', '9R'])]);
    expect(made.groupMembers).toEqual({
      // Ada's tutor group; Dee (staff) tutors 9R but a lesson exempts pupils only.
      '9R': [await digest('ada.e')],
      // Ada ("Year 9") and both of Ben's logins (year group "9"): a year by its number.
      'year 9': [await digest('ada.e'), await digest('ben.e'), await digest('ben.e2')].sort(),
      // A teaching set the MIS export does not carry: nobody, visibly.
      '9X/Ma1': [],
    });
    const pushed = await agent.next('policy', (frame) => frame.policy.version === made.version);
    expect(pushed.policy).toEqual(made);
    expect(JSON.stringify(pushed.policy)).not.toMatch(/ada\.e|ben\.e|dee\.e/i);
    await agent.close();
  });

  it('leaves lessons that have ended out of what devices get, and keeps those to come', async () => {
    const ended = lesson(['10R'], {
      startsAt: new Date(Date.now() - 3 * HOUR_MS).toISOString(),
      endsAt: new Date(Date.now() - HOUR_MS).toISOString(),
    });
    const tomorrow = lesson(['9S'], {
      startsAt: new Date(Date.now() + 24 * HOUR_MS).toISOString(),
      endsAt: new Date(Date.now() + 25 * HOUR_MS).toISOString(),
    });
    const made = await change([ended, tomorrow]);
    expect(made.exemptions.map(({ id }) => id)).toEqual([tomorrow.id]);
    expect(Object.keys(made.groupMembers)).toEqual(['9S']);
  });

  it('makes a new version when an MIS import changes who is in a lesson’s group, and none when not', async () => {
    const made = await change([lesson(['9R'])]);
    expect(made.groupMembers['9R']).toEqual([await digest('ada.e')]);
    const enrolled = await enrolDevice(
      collector.app.database.db,
      makeEnrolRequest({ enrolmentToken: token }),
    );
    const agent = await connectAgent(collector.url, enrolled.deviceCredential);
    agent.send(makeHello({ deviceId: enrolled.deviceId, policyVersion: made.version }));
    await agent.next('welcome');

    // The same export again, and a change to a group no lesson names: no new version.
    expect((await importCsv(MIS_EXPORT)).statusCode).toBe(200);
    expect((await importCsv(MIS_EXPORT.replace('Year 10,10R', 'Year 10,10S'))).statusCode).toBe(
      200,
    );
    expect((await current()).version).toBe(made.version);

    // Ben moves to 9R: devices learn at once that the lesson covers him.
    expect((await importCsv(MIS_EXPORT.replace('9,9S', '9,9R'))).statusCode).toBe(200);
    const after = await current();
    expect(Number(after.version)).toBe(Number(made.version) + 1);
    expect(after.exemptions).toEqual(made.exemptions);
    expect(after.groupMembers['9R']).toEqual(
      [await digest('ada.e'), await digest('ben.e'), await digest('ben.e2')].sort(),
    );
    const pushed = await agent.next('policy');
    expect(pushed.policy).toEqual(after);
    const logged = await collector.app.database.db
      .select({ reason: auditLog.reason, actorId: auditLog.actorId })
      .from(auditLog)
      .where(
        and(
          eq(auditLog.siteId, siteId),
          eq(auditLog.action, 'policy.changed'),
          eq(auditLog.targetId, after.version),
        ),
      );
    expect(logged).toEqual([
      {
        reason: expect.stringMatching(/MIS import changed who is in/),
        actorId: dsl.session.user.id,
      },
    ]);
    await agent.close();
  });

  it('refuses lessons whose groups hold more logins than devices can be sent, saying what to do', async () => {
    // A made-up year group larger than any school's: logins beyond MAX_GROUP_MEMBERS.
    const pupils = Array.from({ length: 2100 }, (_, index) => ({
      siteId,
      kind: 'pupil' as const,
      misId: `BIG${index}`,
      givenName: 'Test',
      familyName: 'Pupil',
      yearGroup: 'Year 99',
    }));
    const db = collector.app.database.db;
    const ids: string[] = [];
    for (let start = 0; start < pupils.length; start += 500) {
      const rows = await db
        .insert(subjects)
        .values(pupils.slice(start, start + 500))
        .returning({ id: subjects.id });
      ids.push(...rows.map(({ id }) => id));
    }
    const logins = ids.flatMap((subjectId, index) =>
      Array.from({ length: 16 }, (_, n) => ({ siteId, subjectId, loginName: `big${index}.${n}` })),
    );
    expect(logins.length).toBeGreaterThan(MAX_GROUP_MEMBERS);
    for (let start = 0; start < logins.length; start += 2000)
      await db.insert(subjectLogins).values(logins.slice(start, start + 2000));
    const before = await current();

    const response = await dsl.request('PUT', `/api/sites/${siteId}/policy`, {
      policy: { ...BODY, exemptions: [lesson(['Year 99'])] },
      reason: 'too many',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ message: string }>().message).toMatch(
      /holding 33600 pupil logins in all; devices can be sent at most 32768\. End or narrow/,
    );
    expect((await current()).version).toBe(before.version);
  });
});
