import { parse } from 'csv-parse/sync';
import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';

import { describeIssues, normaliseLoginName, type SubjectImportResult } from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { WireError } from '../../errors.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { reissuePolicyForGroupChanges } from '../policies/policy.service.ts';
import { subjectLogins, subjects } from './subject.table.ts';

/**
 * Column names as MIS exports spell them (SIMS, Arbor, Bromcom reports), compared without
 * case, spaces, underscores or dashes. The first of each list is ours.
 */
const COLUMN_ALIASES = {
  misId: ['misid', 'upn', 'adno', 'admissionnumber', 'staffcode', 'id'],
  kind: ['kind', 'type', 'role'],
  givenName: ['givenname', 'forename', 'legalforename', 'preferredforename', 'firstname'],
  familyName: ['familyname', 'surname', 'legalsurname', 'preferredsurname', 'lastname'],
  yearGroup: ['yeargroup', 'year', 'ncyear', 'yearofstudy'],
  tutorGroup: ['tutorgroup', 'reggroup', 'registrationgroup', 'form', 'class'],
  send: ['send', 'sen', 'senstatus', 'senprovision'],
  eal: ['eal', 'englishasanadditionallanguage', 'englishadditionallanguage'],
  logins: ['logins', 'login', 'loginname', 'username', 'networkusername'],
} as const;
type Field = keyof typeof COLUMN_ALIASES;
/** How an error names a column: ours, and the MIS names most often met. */
const COLUMN_NAMES: Record<Field, string> = {
  misId: 'mis_id (or UPN, Adno)',
  kind: 'kind',
  givenName: 'given_name (or Forename)',
  familyName: 'family_name (or Surname)',
  yearGroup: 'year_group',
  tutorGroup: 'tutor_group',
  send: 'send',
  eal: 'eal',
  logins: 'logins',
};
const REQUIRED: readonly Field[] = ['misId', 'givenName', 'familyName'];

const key = (header: string) => header.toLowerCase().replace(/[\s_-]+/g, '');

/** Yes/no as MIS exports write it; SEN status codes K (SEN support) and E (EHC plan) are yes, N is no. */
const FlagSchema = z
  .string()
  .trim()
  .transform((value) => value.toLowerCase())
  .pipe(
    z.enum(
      [
        '',
        'y',
        'yes',
        'true',
        '1',
        'n',
        'no',
        'false',
        '0',
        'k',
        'e',
        'none',
        'ehcp',
        'sen support',
      ],
      { message: 'must be Y or N (or a SEN status code: N, K or E)' },
    ),
  )
  .transform((value) => ['y', 'yes', 'true', '1', 'k', 'e', 'ehcp', 'sen support'].includes(value));

const RowSchema = z.object({
  misId: z.string().trim().min(1, 'is empty').max(64, 'is longer than 64 characters'),
  kind: z
    .string()
    .trim()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(['', 'pupil', 'student', 'staff'], { message: 'must be pupil or staff' }))
    .transform((value): 'pupil' | 'staff' => (value === 'staff' ? 'staff' : 'pupil'))
    .default('pupil'),
  givenName: z.string().trim().min(1, 'is empty').max(100),
  familyName: z.string().trim().min(1, 'is empty').max(100),
  yearGroup: z
    .string()
    .trim()
    .max(20)
    .transform((value) => value || null)
    .default(''),
  tutorGroup: z
    .string()
    .trim()
    .max(40)
    .transform((value) => value || null)
    .default(''),
  send: FlagSchema.default(false),
  eal: FlagSchema.default(false),
  logins: z
    .string()
    .transform((value) =>
      value
        .split(/[;\s]+/)
        .map(normaliseLoginName)
        .filter((login) => login !== ''),
    )
    .pipe(z.array(z.string().max(104, 'has a login longer than 104 characters')).max(10))
    .default([]),
});
type Row = z.output<typeof RowSchema>;

/** The largest import accepted: a trust's biggest school with room to spare. */
export const MAX_IMPORT_ROWS = 20_000;

/**
 * Import a CSV export of the school's MIS into a site's subjects: each row creates or
 * updates one person (by the MIS id) and the device logins they use. A bad row is reported
 * with its line and what to fix; the other rows still import. All in one transaction, with
 * the new policy version it causes when it changes who is in an approved lesson's groups.
 * @throws WireError REQUEST_INVALID when the file as a whole cannot be read, or when the
 * policy it causes would be too large for devices.
 */
export async function importSubjects(
  db: Db,
  siteId: string,
  csv: string,
  actorId: string | null,
): Promise<SubjectImportResult> {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(csv, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new WireError(
      'REQUEST_INVALID',
      400,
      `The file is not readable CSV: ${(error as Error).message}. Export it from the MIS as CSV (comma-separated, UTF-8).`,
    );
  }
  const [header, ...body] = records;
  if (!header) throw new WireError('REQUEST_INVALID', 400, 'The file is empty.');
  // For each field, the column of its most preferred name (UPN before Adno: the UPN is
  // national and stays with the pupil when they move school).
  const columnOf = new Map<Field, number>();
  const keys = header.record.map(key);
  for (const [field, aliases] of Object.entries(COLUMN_ALIASES) as [Field, readonly string[]][]) {
    const index = aliases.map((alias) => keys.indexOf(alias)).find((found) => found >= 0);
    if (index !== undefined) columnOf.set(field, index);
  }
  const missing = REQUIRED.filter((field) => !columnOf.has(field));
  if (missing.length > 0) {
    throw new WireError(
      'REQUEST_INVALID',
      400,
      `The first line must name the columns; these are missing: ${missing.map((field) => COLUMN_NAMES[field]).join(', ')}. Optional: kind, year_group, tutor_group, send, eal, logins.`,
    );
  }
  if (body.length > MAX_IMPORT_ROWS) {
    throw new WireError(
      'REQUEST_INVALID',
      400,
      `The file has ${body.length} rows; at most ${MAX_IMPORT_ROWS} are imported at once. Split it by year group.`,
    );
  }

  const errors: SubjectImportResult['errors'] = [];
  const rows: Row[] = [];
  const seen = new Map<string, number>();
  for (const { record, info } of body) {
    const raw = Object.fromEntries(
      [...columnOf].map(([field, index]) => [field, record[index] ?? '']),
    );
    const parsed = RowSchema.safeParse(raw);
    if (!parsed.success) {
      errors.push({ line: info.lines, message: describeIssues(parsed.error) });
      continue;
    }
    const earlier = seen.get(parsed.data.misId);
    if (earlier !== undefined) {
      errors.push({
        line: info.lines,
        message: `misId ${parsed.data.misId} is already on line ${earlier}: each person once.`,
      });
      continue;
    }
    seen.set(parsed.data.misId, info.lines);
    rows.push(parsed.data);
  }

  let created = 0;
  let updated = 0;
  let unchanged = 0;
  await db.transaction(async (tx) => {
    const existing =
      rows.length === 0
        ? []
        : await tx
            .select()
            .from(subjects)
            .where(
              and(
                eq(subjects.siteId, siteId),
                inArray(
                  subjects.misId,
                  rows.map(({ misId }) => misId),
                ),
              ),
            );
    const byMisId = new Map(existing.map((subject) => [subject.misId, subject]));
    for (const row of rows) {
      const values = {
        kind: row.kind,
        givenName: row.givenName,
        familyName: row.familyName,
        yearGroup: row.yearGroup,
        tutorGroup: row.tutorGroup,
        send: row.send,
        eal: row.eal,
      };
      const before = byMisId.get(row.misId);
      let subjectId: string;
      if (!before) {
        const [inserted] = await tx
          .insert(subjects)
          .values({ siteId, misId: row.misId, ...values })
          .returning({ id: subjects.id });
        if (!inserted) throw new Error('subject insert returned nothing');
        subjectId = inserted.id;
        created += 1;
      } else {
        subjectId = before.id;
        const same = (Object.keys(values) as (keyof typeof values)[]).every(
          (field) => before[field] === values[field],
        );
        if (same && before.leftAt === null) unchanged += 1;
        else {
          await tx
            .update(subjects)
            .set({ ...values, leftAt: null, importedAt: new Date() })
            .where(eq(subjects.id, before.id));
          updated += 1;
        }
      }
      for (const loginName of row.logins) {
        await tx
          .insert(subjectLogins)
          .values({ siteId, loginName, subjectId })
          .onConflictDoUpdate({
            target: [subjectLogins.siteId, subjectLogins.loginName],
            set: { subjectId },
          });
      }
    }
    await appendAudit(tx, {
      siteId,
      actorKind: actorId ? 'user' : 'system',
      actorId,
      action: 'subjects.imported',
      targetType: 'site',
      targetId: siteId,
      details: { rows: body.length, created, updated, unchanged, rejected: errors.length },
    });
    // Who is in a group may have changed: an approved lesson for it must cover whom it now holds.
    await reissuePolicyForGroupChanges(tx, siteId, actorId);
  });
  return { rows: body.length, created, updated, unchanged, errors };
}
