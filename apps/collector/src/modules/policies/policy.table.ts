import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

import { createdAtColumn, idColumn, siteIdColumn } from '../../db/columns.ts';
import { staffUsers } from '../users/user.table.ts';

/** Each version of a site's policy (Policy of @lantern/protocol), as pushed to its devices. */
export const policies = pgTable(
  'policies',
  {
    id: idColumn(),
    siteId: siteIdColumn(),
    version: text('version').notNull(),
    body: jsonb('body').notNull(),
    createdBy: uuid('created_by').references(() => staffUsers.id),
    createdAt: createdAtColumn(),
  },
  (table) => [
    uniqueIndex('policies_site_version_idx').on(table.siteId, table.version),
    index('policies_site_created_idx').on(table.siteId, table.createdAt),
  ],
);

/** A site's change to the lexicon (SiteOverride of @lantern/protocol); removal keeps the row. */
export const siteLexiconOverrides = pgTable(
  'site_lexicon_overrides',
  {
    id: idColumn(),
    siteId: siteIdColumn(),
    override: jsonb('override').notNull(),
    reason: text('reason').notNull(),
    createdBy: uuid('created_by').references(() => staffUsers.id),
    createdAt: createdAtColumn(),
    removedAt: timestamp('removed_at', { withTimezone: true }),
  },
  (table) => [index('site_lexicon_overrides_site_idx').on(table.siteId)],
);

/** A planned lesson on a risky topic, approved in advance by a senior leader. */
export const exemptions = pgTable(
  'exemptions',
  {
    id: idColumn(),
    siteId: siteIdColumn(),
    reason: text('reason').notNull(),
    groups: text('groups').array().notNull(),
    categories: text('categories').array().notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    approvedBy: uuid('approved_by').references(() => staffUsers.id),
    createdAt: createdAtColumn(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [index('exemptions_site_window_idx').on(table.siteId, table.startsAt, table.endsAt)],
);
