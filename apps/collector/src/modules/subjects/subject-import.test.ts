import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SubjectImportResultSchema } from '@lantern/protocol';

import { buildApp } from '../../app.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { createSite } from '../organisations/site.repository.ts';
import { subjectLogins, subjects } from './subject.table.ts';

// As a SIMS "student list" report exports it: its own column names, a BOM, quoted commas.
const SIMS_EXPORT = [
  '\uFEFFAdno,UPN,Legal Forename,Legal Surname,Year,Reg Group,SEN Status,EAL,Username',
  '001234,A123456789012,Amira,Hussain,Year 9,9HG,K,Y,SCHOOL\\ahussain',
  '001235,B123456789012,Tom,"O\'Brien, Jr",Year 10,10RT,N,N,tobrien',
  '001236,C123456789012,,Smith,Year 7,7AB,N,N,',
  '001237,D123456789012,Zofia,Kowalska,Year 8,8CD,maybe,Y,zkowalska',
  '001299,A123456789012,Amira,Duplicate,Year 9,9HG,N,N,',
].join('\r\n');

describe.each(DATABASE_KINDS)('importing subjects from the MIS on %s', (kind) => {
  let setup: TestCollectorConfig;
  let app: FastifyInstance;
  let siteId: string;
  let technician: StaffClient;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    app = await buildApp(setup.config);
    const site = await createSite(app.database.db, { name: 'Example Academy' });
    siteId = site.siteId;
    technician = await sessionFor(
      app,
      await addStaff(app, {
        organisationId: site.organisationId,
        roles: [{ role: 'technician', siteId }],
      }),
    );
  });

  afterAll(async () => {
    await app.close();
    await setup.cleanup();
  });

  const upload = (csv: string) =>
    technician.request('POST', `/api/sites/${siteId}/subjects/import`, csv, {
      'content-type': 'text/csv',
    });

  it('imports good rows and names each bad one by line with what to fix', async () => {
    const response = await upload(SIMS_EXPORT);
    expect(response.statusCode, response.body).toBe(200);
    const result = SubjectImportResultSchema.parse(response.json());
    expect(result).toMatchObject({ rows: 5, created: 2, updated: 0, unchanged: 0 });
    expect(result.errors).toEqual([
      { line: 4, message: expect.stringMatching(/givenName: is empty/) },
      { line: 5, message: expect.stringMatching(/send: must be Y or N/) },
      { line: 6, message: expect.stringMatching(/A123456789012 is already on line 2/) },
    ]);
    const stored = await app.database.db
      .select()
      .from(subjects)
      .where(eq(subjects.siteId, siteId))
      .orderBy(asc(subjects.misId));
    expect(stored).toEqual([
      expect.objectContaining({
        misId: 'A123456789012',
        givenName: 'Amira',
        familyName: 'Hussain',
        yearGroup: 'Year 9',
        tutorGroup: '9HG',
        send: true,
        eal: true,
        kind: 'pupil',
      }),
      expect.objectContaining({ misId: 'B123456789012', familyName: "O'Brien, Jr", send: false }),
    ]);
    const logins = await app.database.db
      .select({ loginName: subjectLogins.loginName })
      .from(subjectLogins)
      .where(eq(subjectLogins.siteId, siteId))
      .orderBy(asc(subjectLogins.loginName));
    expect(logins.map(({ loginName }) => loginName)).toEqual(['ahussain', 'tobrien']);
  });

  it('counts a second import of the same file as unchanged, and a moved pupil as updated', async () => {
    const again = SubjectImportResultSchema.parse((await upload(SIMS_EXPORT)).json());
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    const moved = SubjectImportResultSchema.parse(
      (
        await upload(
          'UPN,Forename,Surname,Year,Tutor Group\nA123456789012,Amira,Hussain,Year 10,10HG\n',
        )
      ).json(),
    );
    expect(moved).toMatchObject({ created: 0, updated: 1, errors: [] });
  });

  it('refuses a file without the columns it needs, saying which', async () => {
    const response = await upload('Name,Class\nAmira Hussain,9HG\n');
    expect(response.statusCode).toBe(400);
    expect(response.json<{ message: string }>().message).toMatch(
      /missing: mis_id \(or UPN, Adno\), given_name \(or Forename\), family_name/,
    );
  });
});
