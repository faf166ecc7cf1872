import { and, eq, isNull } from 'drizzle-orm';

import { loginDigest, type Exemption, type Policy } from '@lantern/protocol';

import type { Queryable } from '../audit/audit.repository.ts';
import { subjectLogins, subjects } from '../subjects/subject.table.ts';

/** How group names compare: without case, outer spaces or runs of spaces (`9 r` is `9 R`). */
function groupKey(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A year group by its number, however the MIS or a teacher writes it: `Year 9`, `Yr 9`, `Y9`, `9`, `09`. */
function yearNumber(name: string): number | undefined {
  const match = /^(?:year|yr|y)?\s*0*(\d{1,2})$/i.exec(name.normalize('NFKC').trim());
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Approved lessons that have not ended at `now`: the only ones a device is sent. */
export function liveExemptions(exemptions: readonly Exemption[], now: Date): Exemption[] {
  return exemptions.filter((exemption) => Date.parse(exemption.endsAt) > now.getTime());
}

/**
 * Who is in each group the exemptions name, as a policy carries it (`groupMembers`): the
 * login digests of the site's pupils in it (not staff, not those who have left), sorted, so
 * one membership always makes one exact policy. A pupil is in a group that names their
 * tutor group or their year group (without case or extra spaces), or their year group by
 * number (`Year 9` names a pupil whose MIS year group is `9`). Every named group is a key,
 * with an empty list when nobody is in it: teaching sets (`9X/Ma1`) are not in the MIS
 * export the collector imports, and a lesson naming one covers nobody, visibly.
 */
export async function resolveGroupMembers(
  db: Queryable,
  siteId: string,
  exemptions: readonly Exemption[],
): Promise<Policy['groupMembers']> {
  const groups = [...new Set(exemptions.flatMap((exemption) => exemption.groups))];
  if (groups.length === 0) return {};
  // A school's pupils and their logins: a few thousand rows, read when a policy is made.
  const pupils = await db
    .select({
      yearGroup: subjects.yearGroup,
      tutorGroup: subjects.tutorGroup,
      loginName: subjectLogins.loginName,
    })
    .from(subjects)
    .innerJoin(subjectLogins, eq(subjectLogins.subjectId, subjects.id))
    .where(and(eq(subjects.siteId, siteId), eq(subjects.kind, 'pupil'), isNull(subjects.leftAt)));
  // Each pupil's logins by the keys their groups answer to, so each group is one lookup.
  const byName = new Map<string, Set<string>>();
  const byYear = new Map<number, Set<string>>();
  const add = <K>(index: Map<K, Set<string>>, key: K, loginName: string) => {
    const logins = index.get(key) ?? new Set<string>();
    logins.add(loginName);
    index.set(key, logins);
  };
  for (const pupil of pupils) {
    if (pupil.tutorGroup !== null) add(byName, groupKey(pupil.tutorGroup), pupil.loginName);
    if (pupil.yearGroup === null) continue;
    add(byName, groupKey(pupil.yearGroup), pupil.loginName);
    const year = yearNumber(pupil.yearGroup);
    if (year !== undefined) add(byYear, year, pupil.loginName);
  }
  const digests = new Map<string, string>();
  const entries: [string, string[]][] = [];
  for (const group of groups) {
    const year = yearNumber(group);
    const logins = new Set([
      ...(byName.get(groupKey(group)) ?? []),
      ...(year === undefined ? [] : (byYear.get(year) ?? [])),
    ]);
    const found = new Set<string>();
    for (const loginName of logins) {
      let digest = digests.get(loginName);
      if (digest === undefined) {
        digest = await loginDigest(siteId, loginName);
        digests.set(loginName, digest);
      }
      found.add(digest);
    }
    entries.push([group, [...found].sort()]);
  }
  // fromEntries, not assignment: a group named `__proto__` stays a group.
  return Object.fromEntries(entries);
}

/** Whether two policies' members of these groups are the same. */
export function sameMembers(
  groups: readonly string[],
  before: Policy['groupMembers'],
  after: Policy['groupMembers'],
): boolean {
  return groups.every((group) => {
    const was = Object.hasOwn(before, group) ? before[group] : undefined;
    const now = Object.hasOwn(after, group) ? after[group] : undefined;
    return (
      was !== undefined &&
      now !== undefined &&
      was.length === now.length &&
      was.every((digest, index) => digest === now[index])
    );
  });
}
