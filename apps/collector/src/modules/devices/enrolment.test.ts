import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrorBodySchema, EnrolResponseSchema } from '@lantern/protocol';
import { makeEnrolRequest } from '@lantern/protocol/testing';

import { buildApp } from '../../app.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { firstBrokenAuditEntry } from '../audit/audit.repository.ts';
import { auditLog } from '../audit/audit.table.ts';
import { createSite } from '../organisations/site.repository.ts';
import { devices, enrolmentTokens } from './device.table.ts';
import { createEnrolmentToken, hashSecret } from './enrolment.service.ts';

describe.each(DATABASE_KINDS)('enrolment on %s', (kind) => {
  let setup: TestCollectorConfig;
  let app: FastifyInstance;
  let siteId: string;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    app = await buildApp(setup.config);
    ({ siteId } = await createSite(app.database.db, { name: 'Example Academy' }));
  });

  afterAll(async () => {
    await app.close();
    await setup.cleanup();
  });

  const enrol = (token: string, overrides = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/enrol',
      payload: makeEnrolRequest({ enrolmentToken: token, ...overrides }),
    });

  it('gives a device an id and a credential for a valid token, keeping only hashes', async () => {
    const { token } = await createEnrolmentToken(app.database.db, { siteId, maxUses: 10 });
    const response = await enrol(token, { hostname: 'LAB1-PC07' });
    expect(response.statusCode).toBe(201);
    const body = EnrolResponseSchema.parse(response.json());
    expect(body).toMatchObject({ siteId, protocolVersion: 1 });
    const [device] = await app.database.db
      .select()
      .from(devices)
      .where(eq(devices.id, body.deviceId));
    expect(device).toMatchObject({
      siteId,
      hostname: 'LAB1-PC07',
      platform: 'windows',
      credentialHash: hashSecret(body.deviceCredential),
    });
    const stored = JSON.stringify(await app.database.db.select().from(enrolmentTokens));
    expect(stored).not.toContain(token);
    expect(JSON.stringify(device)).not.toContain(body.deviceCredential);
  });

  it('refuses an unknown, revoked, expired or used-up token with a code and what to do', async () => {
    expect(
      ErrorBodySchema.parse((await enrol('lntenr_unknown_token_0000000000000')).json()),
    ).toMatchObject({ code: 'ENROL_TOKEN_INVALID' });

    const revoked = await createEnrolmentToken(app.database.db, { siteId });
    await app.database.db
      .update(enrolmentTokens)
      .set({ revokedAt: new Date() })
      .where(eq(enrolmentTokens.id, revoked.id));
    const revokedResponse = await enrol(revoked.token);
    expect([revokedResponse.statusCode, revokedResponse.json<{ code: string }>().code]).toEqual([
      403,
      'ENROL_TOKEN_REVOKED',
    ]);

    const expired = await createEnrolmentToken(app.database.db, {
      siteId,
      lifetimeMs: 1_000,
      now: new Date(Date.now() - 60_000),
    });
    const expiredResponse = await enrol(expired.token);
    expect(expiredResponse.json()).toMatchObject({
      code: 'ENROL_TOKEN_EXPIRED',
      message: expect.stringContaining('Ask the technician for a new one'),
    });

    const once = await createEnrolmentToken(app.database.db, { siteId, maxUses: 1 });
    expect((await enrol(once.token)).statusCode).toBe(201);
    const usedUp = await enrol(once.token);
    expect([usedUp.statusCode, usedUp.json<{ code: string }>().code]).toEqual([
      403,
      'ENROL_TOKEN_EXHAUSTED',
    ]);
  });

  it('lets only as many devices enrol as the token allows, when they race', async () => {
    const { token, id } = await createEnrolmentToken(app.database.db, { siteId, maxUses: 3 });
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, index) => enrol(token, { hostname: `RACE-${index}` })),
    );
    expect(responses.filter((response) => response.statusCode === 201)).toHaveLength(3);
    const [row] = await app.database.db
      .select()
      .from(enrolmentTokens)
      .where(eq(enrolmentTokens.id, id));
    expect(row?.useCount).toBe(3);
  });

  it('answers a malformed request with 400 and the field that is wrong', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/enrol',
      payload: { enrolmentToken: 'short' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'REQUEST_INVALID',
      message: expect.stringContaining('enrolmentToken'),
    });
  });

  it('records every enrolment in the audit log as one unbroken hash chain', async () => {
    const entries = await app.database.db.select().from(auditLog).orderBy(asc(auditLog.id));
    expect(entries.map((entry) => entry.action)).toContain('device.enrolled');
    expect(
      firstBrokenAuditEntry(
        entries.map((entry) => ({
          ...entry,
          details: entry.details as Record<string, unknown> | null,
        })),
      ),
    ).toBeUndefined();
    // Editing any stored field breaks the chain at that entry.
    const tampered = entries.map((entry, index) =>
      index === 1 ? { ...entry, action: 'device.forgotten' } : entry,
    );
    expect(
      firstBrokenAuditEntry(
        tampered.map((entry) => ({
          ...entry,
          details: entry.details as Record<string, unknown> | null,
        })),
      ),
    ).toBe(entries[1]?.id);
  });
});
