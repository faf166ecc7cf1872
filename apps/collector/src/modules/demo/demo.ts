import { randomBytes } from 'node:crypto';

import { eq } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';

import type { Db } from '../../db/database.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { hashPassword } from '../auth/password.ts';
import { captureMatches, captures } from '../captures/capture.table.ts';
import { devices } from '../devices/device.table.ts';
import { createEnrolmentToken } from '../devices/enrolment.service.ts';
import { sites } from '../organisations/organisation.table.ts';
import { createSite } from '../organisations/site.repository.ts';
import { subjectLogins, subjects } from '../subjects/subject.table.ts';
import { createUser } from '../users/user.service.ts';
import { staffUsers } from '../users/user.table.ts';

export const DEMO_SITE_NAME = 'Demo Academy';

export interface DemoLogin {
  readonly role: 'dsl' | 'technician';
  readonly email: string;
  readonly password: string;
}

export interface Demo {
  readonly siteId: string;
  readonly enrolmentToken: string;
  readonly logins: readonly DemoLogin[];
}

const DEMO_USERS = [
  { role: 'dsl', email: 'dsl@demo-academy.lantern.test', displayName: 'Demo DSL' },
  {
    role: 'technician',
    email: 'technician@demo-academy.lantern.test',
    displayName: 'Demo Technician',
  },
] as const;

/** Invented pupils and what they typed: enough for a DSL trying Lantern to see a queue. */
const DEMO_PUPILS = [
  ['DEMO0001', 'Alex', 'Rivera', 'Year 9', '9HG', false, false, 'arivera'],
  ['DEMO0002', 'Sam', 'Okafor', 'Year 10', '10RT', true, false, 'sokafor'],
  ['DEMO0003', 'Maya', 'Nowak', 'Year 8', '8CD', false, true, 'mnowak'],
] as const;
const DEMO_CAPTURES = [
  [
    'arivera',
    5,
    'suicide',
    'suicide.nobody-would-notice',
    'honestly nobody would notice if i was gone',
  ],
  [
    'sokafor',
    4,
    'grooming_cse',
    'grooming.secret-from-parents',
    'he said not to tell my mum we talk',
  ],
  ['mnowak', 3, 'bullying', 'bullying.everyone-hates', 'everyone in 8CD hates me they said so'],
  ['arivera', 2, 'drugs', 'drugs.where-to-get', 'where can i get weed near school'],
] as const;

/**
 * The demo `npm start` shows: a site, a DSL and a technician login (new passwords each
 * start, printed once), an enrolment token and a few invented captures. Idempotent: the
 * site, pupils and captures are made once; the passwords are reset each time.
 */
export async function ensureDemo(db: Db): Promise<Demo> {
  const [existing] = await db.select().from(sites).where(eq(sites.name, DEMO_SITE_NAME));
  const { siteId, organisationId } = existing
    ? { siteId: existing.id, organisationId: existing.organisationId }
    : await createSite(db, { name: DEMO_SITE_NAME });
  const logins: DemoLogin[] = [];
  for (const user of DEMO_USERS) {
    const password = randomBytes(12).toString('base64url');
    const [found] = await db
      .select({ id: staffUsers.id })
      .from(staffUsers)
      .where(eq(staffUsers.email, user.email));
    if (found) {
      await db
        .update(staffUsers)
        .set({ passwordHash: await hashPassword(password), failedLogins: 0, lockedUntil: null })
        .where(eq(staffUsers.id, found.id));
    } else {
      await createUser(db, {
        organisationId,
        email: user.email,
        displayName: user.displayName,
        password,
        roles: [{ role: user.role, siteId }],
        createdBy: null,
      });
    }
    logins.push({ role: user.role, email: user.email, password });
  }
  const { token } = await createEnrolmentToken(db, {
    siteId,
    label: 'demo',
    lifetimeMs: 24 * 60 * 60 * 1000,
  });
  if (!existing) await seedDemoCaptures(db, siteId);
  return { siteId, enrolmentToken: token, logins };
}

async function seedDemoCaptures(db: Db, siteId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const pupils = await tx
      .insert(subjects)
      .values(
        DEMO_PUPILS.map(([misId, givenName, familyName, yearGroup, tutorGroup, send, eal]) => ({
          siteId,
          kind: 'pupil' as const,
          misId,
          givenName,
          familyName,
          yearGroup,
          tutorGroup,
          send,
          eal,
        })),
      )
      .returning({ id: subjects.id, misId: subjects.misId });
    const loginOf = new Map<string, string>();
    for (const [misId, , , , , , , login] of DEMO_PUPILS) {
      const subjectId = pupils.find((pupil) => pupil.misId === misId)?.id;
      if (!subjectId) continue;
      loginOf.set(login, subjectId);
      await tx.insert(subjectLogins).values({ siteId, loginName: login, subjectId });
    }
    const [device] = await tx
      .insert(devices)
      .values({
        siteId,
        hostname: 'DEMO-LIB-PC03',
        platform: 'windows',
        osRelease: '10.0.22631',
        arch: 'x64',
        agentVersion: '0.1.0',
        // Not a credential anyone holds: the demo device never connects.
        credentialHash: randomBytes(32).toString('hex'),
        lastSeenAt: new Date(),
      })
      .returning({ id: devices.id });
    if (!device) throw new Error('demo device insert returned nothing');
    const now = Date.now();
    for (const [index, [login, severity, category, termId, context]] of DEMO_CAPTURES.entries()) {
      const observedAt = new Date(now - (index + 1) * 17 * 60 * 1000);
      const [capture] = await tx
        .insert(captures)
        .values({
          id: uuidv7({ msecs: observedAt.getTime() }),
          siteId,
          deviceId: device.id,
          subjectId: loginOf.get(login) ?? null,
          observedAt,
          source: 'typed',
          appName: 'Google Chrome',
          windowTitle: 'New Tab - Google Chrome',
          loginName: login,
          context,
          severity,
          categories: [category],
          lexiconVersion: 'demo',
          policyVersion: 'demo',
        })
        .returning({ id: captures.id });
      if (!capture) continue;
      await tx.insert(captureMatches).values({
        captureId: capture.id,
        ordinal: 0,
        termId,
        category,
        severity,
        spanStart: 0,
        spanEnd: context.length,
        stage: 'lexicon',
      });
    }
    await appendAudit(tx, {
      siteId,
      actorKind: 'system',
      actorId: null,
      action: 'demo.seeded',
      targetType: 'site',
      targetId: siteId,
    });
  });
}
