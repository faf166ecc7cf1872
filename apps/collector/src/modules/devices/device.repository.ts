import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';

import {
  AgentHealthSchema,
  type DeviceListResponse,
  type DeviceSummary,
  type EnrolmentTokenListResponse,
} from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import {
  CursorTimeSchema,
  cursorTextSchema,
  decodeCursor,
  encodeCursor,
  exactTime,
  toPage,
  type CursorKey,
} from '../../db/keyset.ts';
import { sites } from '../organisations/organisation.table.ts';
import { deviceAttention } from './device-attention.ts';
import { devices, enrolmentTokens } from './device.table.ts';

/** Devices read at a time while a filter in JS (`attention`) picks those a page shows. */
export const DEVICE_SCAN_CHUNK = 500;

// Cursors hold the last row's sort key (db/keyset.ts), after the list's name: a cursor of
// one list given to another is refused, not read as a position in it.
const DeviceCursorSchema = z.tuple([z.literal('device'), cursorTextSchema(1000), z.uuid()]);
const TokenCursorSchema = z.tuple([z.literal('enrolment_token'), CursorTimeSchema, z.uuid()]);

const iso = (date: Date | null) => date?.toISOString() ?? null;

const deviceColumns = {
  id: devices.id,
  siteId: devices.siteId,
  hostname: devices.hostname,
  platform: devices.platform,
  osRelease: devices.osRelease,
  agentVersion: devices.agentVersion,
  enrolledAt: devices.enrolledAt,
  lastSeenAt: devices.lastSeenAt,
  lastLoginName: devices.lastLoginName,
  lastSession: devices.lastSession,
  policyVersion: devices.policyVersion,
  revokedAt: devices.revokedAt,
  health: devices.health,
};

/**
 * A page of a site's devices by hostname, by keyset on (hostname, id), which
 * `devices_site_hostname_idx` serves. With `attention: 'true'`, only devices needing a
 * technician: that is worked out in JS from what each last reported, so the site's devices
 * are read forward from the cursor `scanChunk` (DEVICE_SCAN_CHUNK) at a time until the page is full and
 * one more device to show is in sight, or the devices run out. So a page holds fewer than
 * `limit` devices only when it is the last (nextCursor null), memory stays one chunk
 * whatever the site's size, and the work of a request is at most one pass over the site's
 * devices. The cursor is the last device read before the next one to show, so the next
 * page does not read again the devices this one passed over.
 */
export async function listDevices(
  db: Db,
  siteId: string,
  query: { attention?: 'true' | 'false' | undefined; limit: number; cursor?: string | undefined },
  options: { now?: Date; scanChunk?: number } = {},
): Promise<DeviceListResponse> {
  const { now = new Date(), scanChunk = DEVICE_SCAN_CHUNK } = options;
  const [site] = await db
    .select({ timezone: sites.timezone })
    .from(sites)
    .where(eq(sites.id, siteId));
  const school = { timezone: site?.timezone ?? 'Europe/London' };
  const onlyAttention = query.attention === 'true';
  // Unfiltered, one read of limit + 1 rows: the extra row says a next page exists.
  const chunkSize = onlyAttention ? Math.max(scanChunk, query.limit + 1) : query.limit + 1;
  let after = query.cursor ? decodeCursor(query.cursor, DeviceCursorSchema) : undefined;
  const items: DeviceSummary[] = [];
  /** The key of the last device this page has read past, shown or not. */
  let passed: CursorKey | undefined;
  for (;;) {
    const rows = await db
      .select(deviceColumns)
      .from(devices)
      .where(
        and(
          eq(devices.siteId, siteId),
          after && sql`(${devices.hostname}, ${devices.id}) > (${after[1]}, ${after[2]}::uuid)`,
        ),
      )
      .orderBy(asc(devices.hostname), asc(devices.id))
      .limit(chunkSize);
    for (const row of rows) {
      const attention = deviceAttention(row, school, now);
      if (!onlyAttention || attention.length > 0) {
        if (items.length === query.limit) {
          return { items, nextCursor: passed ? encodeCursor(passed) : null };
        }
        items.push({
          id: row.id,
          siteId: row.siteId,
          hostname: row.hostname,
          platform: row.platform,
          osRelease: row.osRelease,
          agentVersion: row.agentVersion,
          enrolledAt: row.enrolledAt.toISOString(),
          lastSeenAt: iso(row.lastSeenAt),
          lastLoginName: row.lastLoginName,
          lastSession: row.lastSession,
          policyVersion: row.policyVersion,
          revokedAt: iso(row.revokedAt),
          health: AgentHealthSchema.safeParse(row.health).data ?? null,
          attention,
        });
      }
      passed = ['device', row.hostname, row.id];
    }
    const last = rows.at(-1);
    if (rows.length < chunkSize || !last) return { items, nextCursor: null };
    after = ['device', last.hostname, last.id];
  }
}

/**
 * A page of a site's enrolment tokens, newest first, by keyset on (created_at, id), which
 * `enrolment_tokens_site_created_idx` serves.
 */
export async function listEnrolmentTokens(
  db: Db,
  siteId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<EnrolmentTokenListResponse> {
  const after = query.cursor ? decodeCursor(query.cursor, TokenCursorSchema) : undefined;
  const rows = await db
    .select({
      id: enrolmentTokens.id,
      label: enrolmentTokens.label,
      createdAt: enrolmentTokens.createdAt,
      createdKey: exactTime(enrolmentTokens.createdAt),
      expiresAt: enrolmentTokens.expiresAt,
      maxUses: enrolmentTokens.maxUses,
      useCount: enrolmentTokens.useCount,
      revokedAt: enrolmentTokens.revokedAt,
    })
    .from(enrolmentTokens)
    .where(
      and(
        eq(enrolmentTokens.siteId, siteId),
        after &&
          sql`(${enrolmentTokens.createdAt}, ${enrolmentTokens.id}) < (${after[1]}::timestamptz, ${after[2]}::uuid)`,
      ),
    )
    .orderBy(desc(enrolmentTokens.createdAt), desc(enrolmentTokens.id))
    .limit(query.limit + 1);
  const page = toPage(rows, query.limit, (row) => ['enrolment_token', row.createdKey, row.id]);
  return {
    items: page.rows.map((row) => ({
      id: row.id,
      label: row.label,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      maxUses: row.maxUses,
      useCount: row.useCount,
      revokedAt: iso(row.revokedAt),
    })),
    nextCursor: page.nextCursor,
  };
}
