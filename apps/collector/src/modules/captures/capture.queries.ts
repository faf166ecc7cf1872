import { and, asc, desc, eq, gte, inArray, lte, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';

import {
  CategorySchema,
  type CaptureDetail,
  type CaptureListResponse,
  type CaptureSummary,
  type Category,
  type StaffRole,
} from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { CursorTimeSchema, decodeCursor, exactTime, toPage } from '../../db/keyset.ts';
import { CAPTURE_SUBJECTS } from '../auth/permissions.ts';
import { devices } from '../devices/device.table.ts';
import { subjects } from '../subjects/subject.table.ts';
import { captureMatches, captures, screenshots } from './capture.table.ts';

export type SubjectKind = 'pupil' | 'staff';

/** Whose captures these roles see at one site. */
export function visibleSubjectKinds(roles: Iterable<StaffRole>): SubjectKind[] {
  const kinds = new Set<SubjectKind>();
  for (const role of roles) for (const kind of CAPTURE_SUBJECTS[role]) kinds.add(kind);
  return [...kinds];
}

export interface CaptureFilter {
  readonly status?: readonly string[];
  readonly category?: readonly Category[];
  readonly source?: readonly string[];
  readonly severityMin?: number;
  readonly subjectId?: string;
  readonly deviceId?: string;
  readonly yearGroup?: string;
  readonly from?: string;
  readonly to?: string;
  readonly order: 'triage' | 'newest';
  readonly limit: number;
  readonly cursor?: string;
}

// A cursor is the sort key of the last row of a page (db/keyset.ts).
const TriageCursorSchema = z.tuple([z.int().min(0).max(5), CursorTimeSchema, z.uuid()]);
const NewestCursorSchema = z.tuple([CursorTimeSchema, z.uuid()]);

const summaryColumns = {
  id: captures.id,
  siteId: captures.siteId,
  deviceId: captures.deviceId,
  hostname: devices.hostname,
  loginName: captures.loginName,
  subjectKind: captures.subjectKind,
  observedAt: captures.observedAt,
  receivedAt: captures.receivedAt,
  // The exact stored time (microseconds), so a page boundary never skips or repeats a row.
  observedKey: exactTime(captures.observedAt),
  source: captures.source,
  appName: captures.appName,
  severity: captures.severity,
  categories: captures.categories,
  status: captures.status,
  screenshotSha256: captures.screenshotSha256,
  screenshotSensitive: captures.screenshotSensitive,
  inApprovedLesson: captures.inApprovedLesson,
  concernId: captures.concernId,
  subject: {
    id: subjects.id,
    kind: subjects.kind,
    givenName: subjects.givenName,
    familyName: subjects.familyName,
    yearGroup: subjects.yearGroup,
    tutorGroup: subjects.tutorGroup,
    send: subjects.send,
    eal: subjects.eal,
  },
};

/** The subject's columns of a left join: all null when the login matched nobody. */
interface SubjectColumns {
  id: string | null;
  kind: SubjectKind | null;
  givenName: string | null;
  familyName: string | null;
  yearGroup: string | null;
  tutorGroup: string | null;
  send: boolean | null;
  eal: boolean | null;
}

function toSummary(row: {
  id: string;
  siteId: string;
  deviceId: string;
  hostname: string;
  loginName: string;
  subjectKind: SubjectKind;
  observedAt: Date;
  receivedAt: Date;
  source: CaptureSummary['source'];
  appName: string;
  severity: number;
  categories: string[];
  status: CaptureSummary['status'];
  screenshotSha256: string | null;
  screenshotSensitive: boolean;
  inApprovedLesson: boolean;
  concernId: string | null;
  subject: SubjectColumns | null;
}): CaptureSummary {
  const subject = row.subject;
  return {
    id: row.id,
    siteId: row.siteId,
    deviceId: row.deviceId,
    hostname: row.hostname,
    loginName: row.loginName,
    subject:
      subject?.id && subject.kind && subject.givenName !== null && subject.familyName !== null
        ? {
            id: subject.id,
            kind: subject.kind,
            givenName: subject.givenName,
            familyName: subject.familyName,
            yearGroup: subject.yearGroup,
            tutorGroup: subject.tutorGroup,
            send: subject.send ?? false,
            eal: subject.eal ?? false,
          }
        : null,
    subjectKind: row.subjectKind,
    observedAt: row.observedAt.toISOString(),
    receivedAt: row.receivedAt.toISOString(),
    source: row.source,
    appName: row.appName,
    severity: row.severity,
    categories: row.categories.filter(
      (category): category is Category => CategorySchema.safeParse(category).success,
    ),
    status: row.status,
    hasScreenshot: row.screenshotSha256 !== null,
    screenshotSensitive: row.screenshotSensitive,
    inApprovedLesson: row.inApprovedLesson,
    concernId: row.concernId,
  };
}

/**
 * A page of a site's captures, most severe then newest first (`triage`) or newest first,
 * by keyset (the last row's sort key), never OFFSET: page 10,000 costs what page 1 does.
 * The indexes `captures_triage_idx` and `captures_site_time_idx` serve these orders.
 */
export async function listCaptures(
  db: Db,
  siteId: string,
  kinds: readonly SubjectKind[],
  filter: CaptureFilter,
): Promise<CaptureListResponse> {
  if (kinds.length === 0) return { items: [], nextCursor: null };
  const where: (SQL | undefined)[] = [
    eq(captures.siteId, siteId),
    inArray(captures.subjectKind, [...kinds]),
    filter.status && inArray(captures.status, filter.status as CaptureSummary['status'][]),
    filter.source && inArray(captures.source, filter.source as CaptureSummary['source'][]),
    filter.category && sql`${captures.categories} && ${sql.param([...filter.category])}::text[]`,
    filter.severityMin !== undefined ? gte(captures.severity, filter.severityMin) : undefined,
    filter.subjectId ? eq(captures.subjectId, filter.subjectId) : undefined,
    filter.deviceId ? eq(captures.deviceId, filter.deviceId) : undefined,
    filter.yearGroup ? eq(subjects.yearGroup, filter.yearGroup) : undefined,
    filter.from ? gte(captures.observedAt, new Date(filter.from)) : undefined,
    filter.to ? lte(captures.observedAt, new Date(filter.to)) : undefined,
  ];
  if (filter.cursor) {
    if (filter.order === 'triage') {
      const [severity, observed, id] = decodeCursor(filter.cursor, TriageCursorSchema);
      where.push(
        sql`(${captures.severity}, ${captures.observedAt}, ${captures.id}) < (${severity}, ${observed}::timestamptz, ${id}::uuid)`,
      );
    } else {
      const [observed, id] = decodeCursor(filter.cursor, NewestCursorSchema);
      where.push(
        sql`(${captures.observedAt}, ${captures.id}) < (${observed}::timestamptz, ${id}::uuid)`,
      );
    }
  }
  const order =
    filter.order === 'triage'
      ? [desc(captures.severity), desc(captures.observedAt), desc(captures.id)]
      : [desc(captures.observedAt), desc(captures.id)];
  const rows = await db
    .select(summaryColumns)
    .from(captures)
    .innerJoin(devices, eq(devices.id, captures.deviceId))
    .leftJoin(subjects, eq(subjects.id, captures.subjectId))
    .where(and(...where))
    .orderBy(...order)
    .limit(filter.limit + 1);
  const page = toPage(rows, filter.limit, (last) =>
    filter.order === 'triage'
      ? [last.severity, last.observedKey, last.id]
      : [last.observedKey, last.id],
  );
  return { items: page.rows.map(toSummary), nextCursor: page.nextCursor };
}

/** One capture with its content, or undefined. Callers check the site and audit the read. */
export async function findCapture(db: Db, id: string): Promise<CaptureDetail | undefined> {
  const [row] = await db
    .select({
      ...summaryColumns,
      windowTitle: captures.windowTitle,
      appId: captures.appId,
      context: captures.context,
      lexiconVersion: captures.lexiconVersion,
      policyVersion: captures.policyVersion,
      screenshotOmitted: captures.screenshotOmitted,
      screenshot: {
        sha256: screenshots.sha256,
        mediaType: screenshots.mediaType,
        width: screenshots.width,
        height: screenshots.height,
        bytes: screenshots.bytes,
      },
    })
    .from(captures)
    .innerJoin(devices, eq(devices.id, captures.deviceId))
    .leftJoin(subjects, eq(subjects.id, captures.subjectId))
    .leftJoin(screenshots, eq(screenshots.sha256, captures.screenshotSha256))
    .where(eq(captures.id, id));
  if (!row) return undefined;
  const matches = await db
    .select()
    .from(captureMatches)
    .where(eq(captureMatches.captureId, id))
    .orderBy(asc(captureMatches.ordinal));
  const shot = row.screenshot;
  return {
    ...toSummary(row),
    windowTitle: row.windowTitle,
    appId: row.appId,
    context: row.context,
    lexiconVersion: row.lexiconVersion,
    policyVersion: row.policyVersion,
    screenshotOmitted: row.screenshotOmitted,
    screenshot:
      shot?.sha256 && shot.mediaType && shot.width && shot.height && shot.bytes
        ? {
            sha256: shot.sha256,
            mediaType: shot.mediaType,
            width: shot.width,
            height: shot.height,
            bytes: shot.bytes,
          }
        : null,
    matches: matches.map((match) => ({
      termId: match.termId,
      category: CategorySchema.parse(match.category),
      severity: match.severity as 1 | 2 | 3 | 4 | 5,
      span: { start: match.spanStart, end: match.spanEnd },
      stage: match.stage === 'classifier' ? 'classifier' : 'lexicon',
    })),
  };
}
