import {
  boolean,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

import { siteIdColumn } from '../../db/columns.ts';
import { concerns } from '../concerns/concern.table.ts';
import { devices } from '../devices/device.table.ts';
import { subjectKindEnum, subjects } from '../subjects/subject.table.ts';

export const sourceEnum = pgEnum('capture_source', ['window_title', 'typed', 'clipboard']);

/** Where a capture is in the DSL's triage. */
export const captureStatusEnum = pgEnum('capture_status', [
  'new',
  'in_review',
  'false_positive',
  'no_further_action',
  'escalated',
  'in_concern',
]);

export const screenshotOmittedEnum = pgEnum('screenshot_omitted', [
  'policy_off',
  'never_for_category',
  'failed',
  'not_applicable',
]);

/**
 * One capture, stored once by the id the device made (UUIDv7): ingest inserts with
 * ON CONFLICT DO NOTHING, so a resend after a lost ack is a no-op.
 */
export const captures = pgTable(
  'captures',
  {
    id: uuid('id').primaryKey(),
    siteId: siteIdColumn(),
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id),
    /** The person the login name resolved to at ingest, if any. */
    subjectId: uuid('subject_id').references(() => subjects.id),
    /** Staff captures go to the headteacher, never to peers; unknown logins are treated as pupils. */
    subjectKind: subjectKindEnum('subject_kind').notNull().default('pupil'),
    observedAt: timestamp('observed_at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    source: sourceEnum('source').notNull(),
    appName: text('app_name').notNull(),
    appId: text('app_id'),
    windowTitle: text('window_title').notNull(),
    loginName: text('login_name').notNull(),
    context: text('context').notNull(),
    severity: smallint('severity').notNull(),
    categories: text('categories').array().notNull(),
    lexiconVersion: text('lexicon_version').notNull(),
    policyVersion: text('policy_version').notNull(),
    inApprovedLesson: boolean('in_approved_lesson').notNull().default(false),
    exemptionId: uuid('exemption_id'),
    screenshotSha256: text('screenshot_sha256'),
    screenshotSensitive: boolean('screenshot_sensitive').notNull().default(false),
    screenshotOmitted: screenshotOmittedEnum('screenshot_omitted'),
    status: captureStatusEnum('status').notNull().default('new'),
    concernId: uuid('concern_id').references(() => concerns.id),
  },
  (table) => [
    // The triage queue: a site's captures by status, then severity, then newest first.
    // DESC NULLS FIRST is PostgreSQL's own order for DESC, so `ORDER BY … DESC` uses these.
    index('captures_triage_idx').on(
      table.siteId,
      table.status,
      table.severity.desc().nullsFirst(),
      table.observedAt.desc().nullsFirst(),
      table.id.desc().nullsFirst(),
    ),
    // The triage queue across statuses (the default list, or several statuses at once).
    index('captures_site_severity_idx').on(
      table.siteId,
      table.severity.desc().nullsFirst(),
      table.observedAt.desc().nullsFirst(),
      table.id.desc().nullsFirst(),
    ),
    // Every list of a site's captures by time (keyset on observed_at, id).
    index('captures_site_time_idx').on(
      table.siteId,
      table.observedAt.desc().nullsFirst(),
      table.id.desc().nullsFirst(),
    ),
    index('captures_subject_time_idx').on(table.subjectId, table.observedAt.desc().nullsFirst()),
    index('captures_device_time_idx').on(table.deviceId, table.observedAt.desc().nullsFirst()),
    index('captures_concern_idx').on(table.concernId),
  ],
);

/** The matches of a capture, in order: what matched and why. */
export const captureMatches = pgTable(
  'capture_matches',
  {
    captureId: uuid('capture_id')
      .notNull()
      .references(() => captures.id, { onDelete: 'cascade' }),
    ordinal: smallint('ordinal').notNull(),
    termId: text('term_id').notNull(),
    category: text('category').notNull(),
    severity: smallint('severity').notNull(),
    spanStart: integer('span_start').notNull(),
    spanEnd: integer('span_end').notNull(),
    stage: text('stage').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.captureId, table.ordinal] }),
    index('capture_matches_term_idx').on(table.termId),
  ],
);

/** A screenshot's metadata; the bytes live in the blob store under `sha256`. Never a public URL. */
export const screenshots = pgTable('screenshots', {
  sha256: text('sha256').primaryKey(),
  mediaType: text('media_type').notNull(),
  bytes: integer('bytes').notNull(),
  width: integer('width').notNull(),
  height: integer('height').notNull(),
  storedAt: timestamp('stored_at', { withTimezone: true }).notNull().defaultNow(),
});
