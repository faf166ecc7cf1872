import {
  boolean,
  index,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

import { idColumn, siteIdColumn } from '../../db/columns.ts';

/** Whose device use is monitored: a pupil, or a member of staff (whose captures go to the head). */
export const subjectKindEnum = pgEnum('subject_kind', ['pupil', 'staff']);

/** A monitored person, imported from the school's MIS export. */
export const subjects = pgTable(
  'subjects',
  {
    id: idColumn(),
    siteId: siteIdColumn(),
    kind: subjectKindEnum('kind').notNull(),
    /** The MIS's own id (UPN or admission number for pupils, staff code for staff). */
    misId: text('mis_id').notNull(),
    givenName: text('given_name').notNull(),
    familyName: text('family_name').notNull(),
    yearGroup: text('year_group'),
    tutorGroup: text('tutor_group'),
    /** Special educational needs and disabilities: the policies ask for extra care. */
    send: boolean('send').notNull().default(false),
    /** English as an additional language. */
    eal: boolean('eal').notNull().default(false),
    importedAt: timestamp('imported_at', { withTimezone: true }).notNull().defaultNow(),
    leftAt: timestamp('left_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('subjects_site_mis_idx').on(table.siteId, table.misId)],
);

/** The device login names a subject uses, so a capture's login name finds its person. */
export const subjectLogins = pgTable(
  'subject_logins',
  {
    siteId: siteIdColumn(),
    /** Lower-case, without a domain prefix (SCHOOL\\jsmith → jsmith). */
    loginName: text('login_name').notNull(),
    subjectId: uuid('subject_id')
      .notNull()
      .references(() => subjects.id),
  },
  (table) => [
    uniqueIndex('subject_logins_site_login_idx').on(table.siteId, table.loginName),
    index('subject_logins_subject_idx').on(table.subjectId),
  ],
);
