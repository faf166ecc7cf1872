import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DeviceSummarySchema } from '@lantern/protocol';
import { makeHeartbeat } from '@lantern/protocol/testing';

import { buildApp } from '../../app.ts';
import { makeTestConfig, type TestCollectorConfig } from '../../test-helpers/databases.ts';
import { seedDevice } from '../../test-helpers/seed.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { createSite } from '../organisations/site.repository.ts';
import { deviceAttention, inSchoolHours } from './device-attention.ts';
import { devices } from './device.table.ts';

// Tuesday 24 November 2026: 10:00 and 19:00 in London (GMT).
const TUESDAY_10AM = new Date('2026-11-24T10:00:00Z');
const TUESDAY_7PM = new Date('2026-11-24T19:00:00Z');
const SATURDAY_10AM = new Date('2026-11-28T10:00:00Z');
const LONDON = { timezone: 'Europe/London' };

describe('which devices need a technician', () => {
  it('knows school hours in the school’s time zone', () => {
    expect(inSchoolHours(TUESDAY_10AM, 'Europe/London')).toBe(true);
    expect(inSchoolHours(TUESDAY_7PM, 'Europe/London')).toBe(false);
    expect(inSchoolHours(SATURDAY_10AM, 'Europe/London')).toBe(false);
    // 07:30 UTC in July is 08:30 British Summer Time.
    expect(inSchoolHours(new Date('2026-07-07T07:30:00Z'), 'Europe/London')).toBe(true);
  });

  it('flags a device gone quiet in school hours, not in the evening', () => {
    const device = {
      lastSeenAt: new Date(TUESDAY_10AM.getTime() - 30 * 60 * 1000),
      enrolledAt: new Date('2026-09-01T00:00:00Z'),
      revokedAt: null,
      health: null,
    };
    expect(deviceAttention(device, LONDON, TUESDAY_10AM)).toEqual(['quiet']);
    expect(deviceAttention(device, LONDON, TUESDAY_7PM)).toEqual([]);
    expect(deviceAttention({ ...device, revokedAt: TUESDAY_10AM }, LONDON, TUESDAY_10AM)).toEqual(
      [],
    );
  });

  it('flags a failed source, dropped captures and a day-old backlog from the heartbeat', () => {
    const { health } = makeHeartbeat();
    const device = {
      lastSeenAt: TUESDAY_10AM,
      enrolledAt: new Date('2026-09-01T00:00:00Z'),
      revokedAt: null,
      health: {
        ...health,
        sources: { ...health.sources, typed: 'failed' },
        droppedCount: 3,
        spool: { depth: 40, bytes: 90_000, oldestObservedAt: '2026-11-20T09:00:00Z' },
      },
    };
    expect(deviceAttention(device, LONDON, TUESDAY_10AM)).toEqual([
      'source_failed',
      'dropping',
      'backlog',
    ]);
  });
});

describe('the device list for technicians', () => {
  let setup: TestCollectorConfig;
  let app: FastifyInstance;
  let technician: StaffClient;
  let siteId: string;

  beforeAll(async () => {
    setup = await makeTestConfig('pglite');
    app = await buildApp(setup.config);
    const site = await createSite(app.database.db, { name: 'Example Academy' });
    siteId = site.siteId;
    technician = await sessionFor(
      app,
      await addStaff(app, {
        organisationId: site.organisationId,
        roles: [{ role: 'technician', siteId }],
      }),
    );
  });

  afterAll(async () => {
    await app.close();
    await setup.cleanup();
  });

  it('shows each device’s last report, and lists only those needing attention on request', async () => {
    const healthy = await seedDevice(app.database.db, siteId, 'LAB1-PC01');
    const failing = await seedDevice(app.database.db, siteId, 'LAB1-PC02');
    const { health } = makeHeartbeat();
    await app.database.db
      .update(devices)
      .set({ lastSeenAt: new Date(), health })
      .where(eq(devices.id, healthy));
    await app.database.db
      .update(devices)
      .set({
        lastSeenAt: new Date(),
        health: { ...health, sources: { ...health.sources, clipboard: 'failed' } },
      })
      .where(eq(devices.id, failing));
    const all = DeviceSummarySchema.array().parse(
      (await technician.request('GET', `/api/sites/${siteId}/devices`)).json<{ items: unknown }>()
        .items,
    );
    expect(all.map((device) => device.hostname)).toEqual(['LAB1-PC01', 'LAB1-PC02']);
    expect(all[0]?.health?.sources.clipboard).toBe('running');
    const needing = DeviceSummarySchema.array().parse(
      (await technician.request('GET', `/api/sites/${siteId}/devices?attention=true`)).json<{
        items: unknown;
      }>().items,
    );
    expect(needing.map((device) => [device.hostname, device.attention])).toEqual([
      ['LAB1-PC02', expect.arrayContaining(['source_failed'])],
    ]);
  });
});
