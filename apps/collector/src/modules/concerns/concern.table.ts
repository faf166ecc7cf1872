import { boolean, index, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

import { idColumn, siteIdColumn } from '../../db/columns.ts';
import { subjects } from '../subjects/subject.table.ts';
import { staffUsers } from '../users/user.table.ts';

export const concernStatusEnum = pgEnum('concern_status', ['open', 'closed']);

/** A safeguarding concern about one person: captures, notes and actions in time order. */
export const concerns = pgTable(
  'concerns',
  {
    id: idColumn(),
    siteId: siteIdColumn(),
    subjectId: uuid('subject_id').references(() => subjects.id),
    title: text('title').notNull(),
    status: concernStatusEnum('status').notNull().default('open'),
    assigneeId: uuid('assignee_id').references(() => staffUsers.id),
    outcome: text('outcome'),
    /** Stops retention from deleting the concern or its captures. */
    legalHold: boolean('legal_hold').notNull().default(false),
    openedBy: uuid('opened_by').references(() => staffUsers.id),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
  },
  (table) => [
    index('concerns_site_status_idx').on(table.siteId, table.status, table.openedAt),
    index('concerns_subject_idx').on(table.subjectId),
  ],
);

/** The actions of the schools' incident tables, and notes. */
export const concernActionEnum = pgEnum('concern_action', [
  'note',
  'refer_class_teacher',
  'refer_head_of_year',
  'refer_headteacher',
  'refer_police',
  'refer_technical_support',
  'inform_parents',
  'remove_access',
  'warning',
  'further_sanction',
  'refer_social_care',
  'refer_lado',
  'refer_prevent',
]);

export const concernActions = pgTable(
  'concern_actions',
  {
    id: idColumn(),
    concernId: uuid('concern_id')
      .notNull()
      .references(() => concerns.id),
    action: concernActionEnum('action').notNull(),
    note: text('note').notNull().default(''),
    actorId: uuid('actor_id').references(() => staffUsers.id),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('concern_actions_concern_idx').on(table.concernId, table.at)],
);
