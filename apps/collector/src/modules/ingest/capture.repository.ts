import { and, eq, inArray } from 'drizzle-orm';

import type { Capture } from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { captureMatches, captures, screenshots } from '../captures/capture.table.ts';
import { subjectLogins, subjects } from '../subjects/subject.table.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** `SCHOOL\\jsmith`, `jsmith@school.org` and `JSmith` are all the login `jsmith`. */
export function normaliseLoginName(loginName: string): string {
  const withoutDomain = loginName.includes('\\')
    ? (loginName.split('\\').pop() ?? loginName)
    : loginName;
  return (withoutDomain.split('@')[0] ?? withoutDomain).trim().toLowerCase();
}

/** The screenshots among these hashes that are stored. */
export async function storedScreenshots(
  db: Db | Tx,
  hashes: readonly string[],
): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const rows = await db
    .select({ sha256: screenshots.sha256 })
    .from(screenshots)
    .where(inArray(screenshots.sha256, [...hashes]));
  return new Set(rows.map((row) => row.sha256));
}

/**
 * Store captures that may have been stored before: each is inserted by the id its device
 * made, and one already there is left as it is (ON CONFLICT DO NOTHING), so an agent that
 * resends after a lost ack never makes a second copy. Login names are matched to subjects
 * here, once. Runs in the caller's transaction.
 */
export async function insertCaptures(tx: Tx, batch: readonly Capture[]): Promise<void> {
  if (batch.length === 0) return;
  const bySite = new Map<string, Set<string>>();
  for (const capture of batch) {
    const names = bySite.get(capture.siteId) ?? new Set<string>();
    names.add(normaliseLoginName(capture.loginName));
    bySite.set(capture.siteId, names);
  }
  const subjectOf = new Map<string, { id: string; kind: 'pupil' | 'staff' }>();
  for (const [siteId, names] of bySite) {
    const rows = await tx
      .select({ loginName: subjectLogins.loginName, id: subjects.id, kind: subjects.kind })
      .from(subjectLogins)
      .innerJoin(subjects, eq(subjects.id, subjectLogins.subjectId))
      .where(and(eq(subjectLogins.siteId, siteId), inArray(subjectLogins.loginName, [...names])));
    for (const row of rows)
      subjectOf.set(`${siteId}\u0000${row.loginName}`, { id: row.id, kind: row.kind });
  }
  await tx
    .insert(captures)
    .values(
      batch.map((capture) => {
        const subject = subjectOf.get(
          `${capture.siteId}\u0000${normaliseLoginName(capture.loginName)}`,
        );
        const screenshot = capture.screenshot;
        return {
          id: capture.id,
          siteId: capture.siteId,
          deviceId: capture.deviceId,
          subjectId: subject?.id ?? null,
          subjectKind: subject?.kind ?? 'pupil',
          observedAt: new Date(capture.observedAt),
          source: capture.source,
          appName: capture.app.name,
          appId: capture.app.id,
          windowTitle: capture.windowTitle,
          loginName: capture.loginName,
          context: capture.context,
          severity: capture.severity,
          categories: capture.categories,
          lexiconVersion: capture.lexiconVersion,
          policyVersion: capture.flags.policyVersion,
          inApprovedLesson: capture.flags.inApprovedLesson,
          exemptionId: capture.flags.exemptionId,
          screenshotSha256: screenshot.status === 'attached' ? screenshot.sha256 : null,
          screenshotSensitive: screenshot.status === 'attached' ? screenshot.sensitive : false,
          screenshotOmitted: screenshot.status === 'omitted' ? screenshot.reason : null,
        };
      }),
    )
    .onConflictDoNothing({ target: captures.id });
  await tx
    .insert(captureMatches)
    .values(
      batch.flatMap((capture) =>
        capture.matches.map((match, ordinal) => ({
          captureId: capture.id,
          ordinal,
          termId: match.termId,
          category: match.category,
          severity: match.severity,
          spanStart: match.span.start,
          spanEnd: match.span.end,
          stage: match.stage,
        })),
      ),
    )
    .onConflictDoNothing();
}
