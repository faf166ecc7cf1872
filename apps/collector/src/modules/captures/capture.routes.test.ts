import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CaptureDetailSchema,
  CaptureListResponseSchema,
  type CaptureSummary,
} from '@lantern/protocol';

import { buildApp } from '../../app.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { seedCapture, seedDevice } from '../../test-helpers/seed.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { auditLog } from '../audit/audit.table.ts';
import { createSite } from '../organisations/site.repository.ts';
import { captures } from './capture.table.ts';

describe.each(DATABASE_KINDS)('the captures API on %s', (kind) => {
  let setup: TestCollectorConfig;
  let app: FastifyInstance;
  let siteId: string;
  let otherSiteId: string;
  let deviceId: string;
  let dsl: StaffClient;
  let head: StaffClient;
  let otherDsl: StaffClient;
  const pupilCaptures: { id: string; severity: number; observedAt: Date }[] = [];
  let staffCaptureId: string;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    app = await buildApp(setup.config);
    const site = await createSite(app.database.db, { name: 'Example Academy' });
    siteId = site.siteId;
    ({ siteId: otherSiteId } = await createSite(app.database.db, {
      name: 'Other School',
      organisationId: site.organisationId,
    }));
    deviceId = await seedDevice(app.database.db, siteId);
    // 23 pupil captures over a morning, severities 1–5, two at the very same instant.
    for (let index = 0; index < 23; index += 1) {
      const observedAt = new Date(Date.UTC(2026, 10, 2, 9, index % 20, 0));
      const severity = 1 + ((index * 7) % 5);
      const id = await seedCapture(app.database.db, { siteId, deviceId, severity, observedAt });
      pupilCaptures.push({ id, severity, observedAt });
    }
    staffCaptureId = await seedCapture(app.database.db, {
      siteId,
      deviceId,
      subjectKind: 'staff',
      severity: 5,
    });
    const { organisationId } = site;
    dsl = await sessionFor(
      app,
      await addStaff(app, { organisationId, roles: [{ role: 'dsl', siteId }] }),
    );
    head = await sessionFor(
      app,
      await addStaff(app, { organisationId, roles: [{ role: 'headteacher', siteId }] }),
    );
    otherDsl = await sessionFor(
      app,
      await addStaff(app, { organisationId, roles: [{ role: 'dsl', siteId: otherSiteId }] }),
    );
  });

  afterAll(async () => {
    await app.close();
    await setup.cleanup();
  });

  async function allPages(client: StaffClient, query: string): Promise<CaptureSummary[]> {
    const items: CaptureSummary[] = [];
    let cursor: string | null = null;
    do {
      const response = await client.request(
        'GET',
        `/api/sites/${siteId}/captures?limit=4&${query}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(response.statusCode, response.body).toBe(200);
      const page = CaptureListResponseSchema.parse(response.json());
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  }

  it('pages the triage queue by keyset: most severe, then newest, none skipped or repeated', async () => {
    const items = await allPages(dsl, 'order=triage');
    const expected = [...pupilCaptures]
      .sort(
        (a, b) =>
          b.severity - a.severity ||
          b.observedAt.getTime() - a.observedAt.getTime() ||
          (a.id < b.id ? 1 : -1),
      )
      .map(({ id }) => id);
    expect(items.map(({ id }) => id)).toEqual(expected);
    // The list carries no content.
    expect(JSON.stringify(items)).not.toContain('hurt myself');
    expect(items[0]).not.toHaveProperty('context');
  });

  it('filters by severity and time, and pages newest first', async () => {
    const from = '2026-11-02T09:05:00Z';
    const items = await allPages(dsl, `order=newest&severityMin=4&from=${from}`);
    const expected = pupilCaptures
      .filter(({ severity, observedAt }) => severity >= 4 && observedAt >= new Date(from))
      .sort((a, b) => b.observedAt.getTime() - a.observedAt.getTime() || (a.id < b.id ? 1 : -1))
      .map(({ id }) => id);
    expect(items.map(({ id }) => id)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(3);
  });

  it('answers a forged cursor with a clear 400', async () => {
    const response = await dsl.request(
      'GET',
      `/api/sites/${siteId}/captures?cursor=bm90LWEtY3Vyc29y`,
    );
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'REQUEST_INVALID' });
  });

  it('shows captures about staff to the headteacher only', async () => {
    const dslItems = await allPages(dsl, 'order=triage');
    expect(dslItems.map(({ id }) => id)).not.toContain(staffCaptureId);
    const headItems = await allPages(head, 'order=triage');
    expect(headItems.map(({ id }) => id)).toEqual([staffCaptureId]);
    expect((await dsl.request('GET', `/api/captures/${staffCaptureId}`)).statusCode).toBe(404);
    expect((await head.request('GET', `/api/captures/${staffCaptureId}`)).statusCode).toBe(200);
  });

  it('hides another site’s captures as if they were not there', async () => {
    const id = pupilCaptures[0]?.id ?? '';
    const response = await otherDsl.request('GET', `/api/captures/${id}`);
    expect(response.statusCode).toBe(404);
    expect((await otherDsl.request('GET', `/api/sites/${siteId}/captures`)).statusCode).toBe(403);
  });

  it('audits every read of a capture’s content', async () => {
    const id = pupilCaptures[1]?.id ?? '';
    const response = await dsl.request('GET', `/api/captures/${id}`);
    expect(response.statusCode).toBe(200);
    const detail = CaptureDetailSchema.parse(response.json());
    expect(detail.context).toBe('i want to hurt myself tonight');
    expect(detail.matches).toEqual([
      expect.objectContaining({ termId: 'sh.test', stage: 'lexicon', span: { start: 0, end: 6 } }),
    ]);
    const reads = await app.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'capture.read'), eq(auditLog.targetId, id)));
    expect(reads).toEqual([
      expect.objectContaining({ actorKind: 'user', actorId: dsl.session.user.id, siteId }),
    ]);
  });

  it('changes a status under audit, and asks a reason to reopen a closed capture', async () => {
    const id = pupilCaptures[2]?.id ?? '';
    const close = await dsl.request('POST', `/api/captures/${id}/status`, {
      status: 'false_positive',
    });
    expect(close.statusCode).toBe(204);
    const reopen = await dsl.request('POST', `/api/captures/${id}/status`, { status: 'new' });
    expect(reopen.statusCode).toBe(400);
    expect(reopen.json<{ message: string }>().message).toMatch(/needs a reason/);
    const withReason = await dsl.request('POST', `/api/captures/${id}/status`, {
      status: 'in_review',
      reason: 'pupil mentioned it again in tutor time',
    });
    expect(withReason.statusCode).toBe(204);
    const [row] = await app.database.db
      .select({ status: captures.status })
      .from(captures)
      .where(eq(captures.id, id));
    expect(row?.status).toBe('in_review');
    const changes = await app.database.db
      .select({ reason: auditLog.reason, details: auditLog.details })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'capture.status_changed'), eq(auditLog.targetId, id)))
      .orderBy(auditLog.id);
    expect(changes).toEqual([
      { reason: null, details: { from: 'new', to: 'false_positive' } },
      {
        reason: 'pupil mentioned it again in tutor time',
        details: { from: 'false_positive', to: 'in_review' },
      },
    ]);
  });
});
