import { sql } from 'drizzle-orm';
import { timestamp, uuid } from 'drizzle-orm/pg-core';

import { sites } from '../modules/organisations/organisation.table.ts';

/** Columns most tables share, defined once so every table spells them the same way. */

/** A primary key the database makes (gen_random_uuid()). */
export const idColumn = () =>
  uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`);

/** The site a row belongs to: every row of monitoring data belongs to exactly one. */
export const siteIdColumn = () =>
  uuid('site_id')
    .notNull()
    .references(() => sites.id);

/** When the row was made, by the database's clock. */
export const createdAtColumn = (name = 'created_at') =>
  timestamp(name, { withTimezone: true }).notNull().defaultNow();
