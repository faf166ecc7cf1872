import { randomBytes } from 'node:crypto';

import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';

import {
  DeviceListResponseSchema,
  EnrolmentTokenListResponseSchema,
  ErrorBodySchema,
} from '@lantern/protocol';
import { makeHeartbeat } from '@lantern/protocol/testing';

import { buildApp } from '../../app.ts';
import { encodeCursor } from '../../db/keyset.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { seedDevice } from '../../test-helpers/seed.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { createSite } from '../organisations/site.repository.ts';
import { listDevices } from './device.repository.ts';
import { devices, enrolmentTokens } from './device.table.ts';

const BAD_CURSOR = {
  code: 'REQUEST_INVALID',
  message: 'The cursor is not one this list made: start again from the first page.',
};

/** Every page of a list, walked with `nextCursor` from `path` (which has a query string). */
async function walk<T extends z.ZodType<{ items: unknown[]; nextCursor: string | null }>>(
  client: StaffClient,
  schema: T,
  path: string,
): Promise<{ pages: z.infer<T>[]; items: z.infer<T>['items'] }> {
  const pages: z.infer<T>[] = [];
  let cursor: string | null = null;
  do {
    const response = await client.request('GET', `${path}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(response.statusCode, response.body).toBe(200);
    const page = schema.parse(response.json());
    pages.push(page);
    cursor = page.nextCursor;
    expect(pages.length, 'the list does not end').toBeLessThan(100);
  } while (cursor);
  return { pages, items: pages.flatMap((page) => page.items) };
}

/** A page holds fewer than `limit` items only when it is the last. */
function expectFullPagesButLast(pages: { items: unknown[] }[], limit: number): void {
  expect(pages.slice(0, -1).map((page) => page.items.length)).toEqual(
    pages.slice(0, -1).map(() => limit),
  );
  expect(pages.at(-1)?.items.length).toBeLessThanOrEqual(limit);
}

describe.each(DATABASE_KINDS)('the device and enrolment token lists on %s', (kind) => {
  let setup: TestCollectorConfig;
  let app: FastifyInstance;
  let siteId: string;
  let technician: StaffClient;
  /** The site's devices in the list's order (hostname, then id), and whether each needs attention. */
  let expectedDevices: { id: string; hostname: string; attention: boolean }[] = [];
  /** The site's enrolment tokens newest first (created_at to the microsecond, then id). */
  let expectedTokens: string[] = [];

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    app = await buildApp(setup.config);
    const { db } = app.database;
    const site = await createSite(db, { name: 'Example Academy' });
    siteId = site.siteId;
    const other = await createSite(db, {
      name: 'Other School',
      organisationId: site.organisationId,
    });
    technician = await sessionFor(
      app,
      await addStaff(app, {
        organisationId: site.organisationId,
        roles: [{ role: 'technician', siteId }],
      }),
    );

    // 12 devices, LAB1-PC05 enrolled twice (a re-imaged PC), one with the longest hostname
    // there can be (its cursor is long too); a failed source on some, in runs and gaps, and
    // on one revoked device (which needs no attention).
    const { health } = makeHeartbeat();
    const failing = new Set(['LAB1-PC02', 'LAB1-PC03', 'LAB1-PC07', 'LAB1-PC10', 'LAB1-PC12']);
    const seeded: { id: string; hostname: string; attention: boolean }[] = [];
    for (const hostname of [
      ...Array.from({ length: 12 }, (_, index) => `LAB1-PC${String(index + 1).padStart(2, '0')}`),
      'LAB1-PC05',
      `LAB1-PC00-${'x'.repeat(243)}`,
    ]) {
      const id = await seedDevice(db, siteId, hostname);
      const fails = failing.has(hostname) || (hostname === 'LAB1-PC05' && seeded.length > 5);
      const revoked = hostname === 'LAB1-PC07';
      await db
        .update(devices)
        .set({
          lastSeenAt: new Date(),
          revokedAt: revoked ? new Date() : null,
          health: fails ? { ...health, sources: { ...health.sources, typed: 'failed' } } : health,
        })
        .where(eq(devices.id, id));
      seeded.push({ id, hostname, attention: fails && !revoked });
    }
    expectedDevices = seeded.sort((a, b) =>
      a.hostname === b.hostname ? (a.id < b.id ? -1 : 1) : a.hostname < b.hostname ? -1 : 1,
    );
    // Another site's devices, needing attention too, are never in this site's list.
    for (const hostname of ['LAB1-PC01', 'LAB1-PC02']) {
      const id = await seedDevice(db, other.siteId, hostname);
      await db
        .update(devices)
        .set({ health: { ...health, sources: { ...health.sources, typed: 'failed' } } })
        .where(eq(devices.id, id));
    }

    // Tokens made within one millisecond, and two at the very same microsecond.
    const times = [
      '2026-11-02T09:00:00.000001Z',
      '2026-11-02T09:00:00.000002Z',
      '2026-11-02T09:00:00.000002Z',
      '2026-11-02T09:00:00.000900Z',
      '2026-11-02T09:00:01.000000Z',
      '2026-11-03T10:00:00.000000Z',
      '2026-11-04T11:00:00.500000Z',
    ];
    const tokens: { id: string; at: string }[] = [];
    for (const [index, at] of times.entries()) {
      const [row] = await db
        .insert(enrolmentTokens)
        .values({
          siteId,
          tokenHash: randomBytes(32).toString('hex'),
          label: `Rollout ${index}`,
          createdAt: sql`${at}::timestamptz`,
          expiresAt: new Date('2026-12-01T00:00:00Z'),
          maxUses: 10,
        })
        .returning({ id: enrolmentTokens.id });
      if (row) tokens.push({ id: row.id, at });
    }
    await db.insert(enrolmentTokens).values({
      siteId: other.siteId,
      tokenHash: randomBytes(32).toString('hex'),
      expiresAt: new Date('2026-12-01T00:00:00Z'),
      maxUses: 10,
    });
    expectedTokens = tokens
      .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1))
      .map(({ id }) => id);
  });

  afterAll(async () => {
    await app.close();
    await setup.cleanup();
  });

  it('pages a site’s devices by hostname then id, each device once', async () => {
    for (const limit of [1, 3, 14, 15]) {
      const { pages, items } = await walk(
        technician,
        DeviceListResponseSchema,
        `/api/sites/${siteId}/devices?limit=${limit}`,
      );
      expect(items.map(({ id }) => id)).toEqual(expectedDevices.map(({ id }) => id));
      expect(pages).toHaveLength(Math.ceil(expectedDevices.length / limit));
      expectFullPagesButLast(pages, limit);
    }
  });

  it('gives 100 devices a page unless asked, and at most 500', async () => {
    const page = DeviceListResponseSchema.parse(
      (await technician.request('GET', `/api/sites/${siteId}/devices`)).json(),
    );
    expect(page.items).toHaveLength(expectedDevices.length);
    expect(page.nextCursor).toBeNull();
    const tooMany = await technician.request('GET', `/api/sites/${siteId}/devices?limit=501`);
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json()).toMatchObject({ code: 'REQUEST_INVALID' });
  });

  it('fills every page but the last with devices needing attention, across pages', async () => {
    const needing = expectedDevices.filter(({ attention }) => attention).map(({ id }) => id);
    expect(needing).toHaveLength(5);
    for (const limit of [1, 2, 4, 5]) {
      const { pages, items } = await walk(
        technician,
        DeviceListResponseSchema,
        `/api/sites/${siteId}/devices?attention=true&limit=${limit}`,
      );
      expect(items.map(({ id }) => id)).toEqual(needing);
      expect(items.every(({ attention }) => attention.includes('source_failed'))).toBe(true);
      expectFullPagesButLast(pages, limit);
      // The page that ends the list says so: no extra request for an empty page.
      expect(pages).toHaveLength(Math.ceil(needing.length / limit));
    }
  });

  it('reads the site a chunk at a time until the page is full or the devices run out', async () => {
    const needing = expectedDevices.filter(({ attention }) => attention).map(({ id }) => id);
    for (const scanChunk of [1, 2, 3, 7])
      for (const limit of [1, 2, 3]) {
        const items: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await listDevices(
            app.database.db,
            siteId,
            { attention: 'true', limit, cursor },
            { scanChunk },
          );
          items.push(...page.items.map(({ id }) => id));
          sizes.push(page.items.length);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(items, `scanChunk ${scanChunk}, limit ${limit}`).toEqual(needing);
        expect(sizes.slice(0, -1).every((size) => size === limit)).toBe(true);
      }
  });

  it('pages enrolment tokens newest first, to the microsecond, each token once', async () => {
    for (const limit of [1, 2, 3, 7]) {
      const { pages, items } = await walk(
        technician,
        EnrolmentTokenListResponseSchema,
        `/api/sites/${siteId}/enrolment-tokens?limit=${limit}`,
      );
      expect(items.map(({ id }) => id)).toEqual(expectedTokens);
      expectFullPagesButLast(pages, limit);
    }
    const page = EnrolmentTokenListResponseSchema.parse(
      (await technician.request('GET', `/api/sites/${siteId}/enrolment-tokens`)).json(),
    );
    expect(page.items).toHaveLength(expectedTokens.length);
    expect(page.nextCursor).toBeNull();
  });

  it('answers a cursor the list did not make with a clear 400', async () => {
    const someId = expectedDevices[0]?.id ?? '';
    const forged = {
      devices: [
        'bm90LWEtY3Vyc29y',
        encodeCursor(['enrolment_token', '2026-11-02T09:00:00.000001Z', someId]),
        encodeCursor(['device', 'LAB1-PC01']),
      ],
      'enrolment-tokens': [
        'bm90LWEtY3Vyc29y',
        encodeCursor(['device', 'LAB1-PC01', someId]),
        // An impossible time: a 400, not an error from the database.
        encodeCursor(['enrolment_token', '2026-02-30T09:00:00.000000Z', someId]),
      ],
    };
    for (const [list, cursors] of Object.entries(forged))
      for (const cursor of cursors) {
        const response = await technician.request(
          'GET',
          `/api/sites/${siteId}/${list}?cursor=${cursor}`,
        );
        expect(response.statusCode, `${list} ${cursor}`).toBe(400);
        expect(ErrorBodySchema.parse(response.json())).toEqual(BAD_CURSOR);
      }
  });

  it('describes the paging in the API document', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<{
      paths: Record<string, { get?: { parameters?: { name: string; in: string }[] } }>;
    }>();
    for (const path of ['/api/sites/{siteId}/devices', '/api/sites/{siteId}/enrolment-tokens']) {
      const query = document.paths[path]?.get?.parameters?.filter((p) => p.in === 'query');
      expect(
        query?.map(({ name }) => name),
        path,
      ).toEqual(expect.arrayContaining(['limit', 'cursor']));
    }
  });
});
