import {
  index,
  integer,
  pgEnum,
  pgTable,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

import { createdAtColumn, idColumn } from '../../db/columns.ts';
import { organisations, sites } from '../organisations/organisation.table.ts';

/**
 * What a member of staff may do, per site (DESIGN.md): DSLs see every capture of their
 * site, the headteacher those about staff, technicians devices but no content, governors
 * anonymised aggregates; an organisation admin manages the organisation.
 */
export const roleEnum = pgEnum('staff_role', [
  'dsl',
  'deputy_dsl',
  'headteacher',
  'technician',
  'governor',
  'org_admin',
]);

export const staffUsers = pgTable(
  'staff_users',
  {
    id: idColumn(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    /** Stored lower-case; unique across Lantern. */
    email: text('email').notNull(),
    displayName: text('display_name').notNull(),
    passwordHash: text('password_hash').notNull(),
    /** The TOTP secret, encrypted with the collector's key; null until set up. */
    totpSecret: text('totp_secret'),
    failedLogins: integer('failed_logins').notNull().default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    createdAt: createdAtColumn(),
  },
  (table) => [uniqueIndex('staff_users_email_idx').on(table.email)],
);

/** A role a user holds at a site; `org_admin` is held with no site. */
export const staffRoles = pgTable(
  'staff_roles',
  {
    id: idColumn(),
    userId: uuid('user_id')
      .notNull()
      .references(() => staffUsers.id),
    siteId: uuid('site_id').references(() => sites.id),
    role: roleEnum('role').notNull(),
    grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // An org_admin role has no site: NULLS NOT DISTINCT keeps it from being granted twice.
    unique('staff_roles_unique').on(table.userId, table.siteId, table.role).nullsNotDistinct(),
    index('staff_roles_site_idx').on(table.siteId),
  ],
);
