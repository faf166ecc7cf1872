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
    /** A secret being set up (encrypted), until the user confirms a code from it. */
    totpPendingSecret: text('totp_pending_secret'),
    /** The last 30-second step a code was accepted for: a code works once. */
    totpLastStep: integer('totp_last_step'),
    passwordChangedAt: timestamp('password_changed_at', { withTimezone: true })
      .notNull()
      .defaultNow(),
    failedLogins: integer('failed_logins').notNull().default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    createdAt: createdAtColumn(),
  },
  (table) => [
    uniqueIndex('staff_users_email_idx').on(table.email),
    // An organisation's accounts by email: the user list's keyset.
    index('staff_users_organisation_email_idx').on(table.organisationId, table.email),
  ],
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

/**
 * A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
 * copy of the database signs nobody in. Each session has its own CSRF token.
 */
export const staffSessions = pgTable(
  'staff_sessions',
  {
    id: idColumn(),
    tokenHash: text('token_hash').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => staffUsers.id, { onDelete: 'cascade' }),
    csrfToken: text('csrf_token').notNull(),
    /** `setup_required` until a user whose roles need a second factor has set one up. */
    mfa: text('mfa', { enum: ['verified', 'not_required', 'setup_required'] }).notNull(),
    createdAt: createdAtColumn(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    uniqueIndex('staff_sessions_token_idx').on(table.tokenHash),
    index('staff_sessions_user_idx').on(table.userId),
  ],
);
