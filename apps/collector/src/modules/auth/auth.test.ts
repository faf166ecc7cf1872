import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CSRF_HEADER, SESSION_COOKIE, SessionResponseSchema } from '@lantern/protocol';

import { buildApp } from '../../app.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { addStaff, clientFor, signInAs, totpCode } from '../../test-helpers/staff.ts';
import { auditLog } from '../audit/audit.table.ts';
import { createSite } from '../organisations/site.repository.ts';
import { staffUsers } from '../users/user.table.ts';
import { LOCKOUT_FAILURES } from './auth.service.ts';

describe.each(DATABASE_KINDS)('staff sign-in on %s', (kind) => {
  let setup: TestCollectorConfig;
  let app: FastifyInstance;
  let siteId: string;
  let organisationId: string;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    app = await buildApp(setup.config);
    ({ siteId, organisationId } = await createSite(app.database.db, { name: 'Example Academy' }));
  });

  afterAll(async () => {
    await app.close();
    await setup.cleanup();
  });

  const login = (payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/api/auth/login', payload });

  it('signs a technician in with an httpOnly, SameSite=Strict cookie, and out again', async () => {
    const staff = await addStaff(app, {
      organisationId,
      roles: [{ role: 'technician', siteId }],
    });
    const response = await login({ email: staff.email.toUpperCase(), password: staff.password });
    expect(response.statusCode).toBe(200);
    const session = SessionResponseSchema.parse(response.json());
    expect(session).toMatchObject({ mfa: 'not_required', roles: [{ role: 'technician', siteId }] });
    const cookie = response.cookies.find((item) => item.name === SESSION_COOKIE);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie?.secure).toBeFalsy();

    const client = clientFor(app, session, `${SESSION_COOKIE}=${cookie?.value ?? ''}`);
    expect((await client.request('GET', '/api/sites')).json()).toMatchObject({
      items: [{ id: siteId, name: 'Example Academy' }],
    });
    expect((await client.request('POST', '/api/auth/logout')).statusCode).toBe(204);
    const after = await client.request('GET', '/api/auth/session');
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ code: 'SIGN_IN_REQUIRED' });
  });

  it('answers a wrong password and an unknown email alike, and locks after repeated failures', async () => {
    const staff = await addStaff(app, {
      organisationId,
      roles: [{ role: 'technician', siteId }],
    });
    const unknown = await login({ email: 'nobody@school.example', password: staff.password });
    const wrong = await login({ email: staff.email, password: 'not the password' });
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());

    for (let attempt = 2; attempt <= LOCKOUT_FAILURES; attempt += 1)
      await login({ email: staff.email, password: 'still not it' });
    const locked = await login({ email: staff.email, password: staff.password });
    expect(locked.statusCode).toBe(423);
    expect(locked.json()).toMatchObject({ code: 'ACCOUNT_LOCKED' });
    expect(locked.json<{ message: string }>().message).toMatch(/locked after 5 failed/);

    const trail = await app.database.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.targetId, staff.id));
    expect(trail.filter(({ action }) => action === 'auth.sign_in_failed')).toHaveLength(
      LOCKOUT_FAILURES,
    );
    expect(trail.map(({ action }) => action)).toContain('auth.sign_in_refused_locked');
  });

  it('refuses a state-changing request without the session CSRF token', async () => {
    const staff = await addStaff(app, {
      organisationId,
      roles: [{ role: 'technician', siteId }],
    });
    const client = await signInAs(app, staff);
    for (const token of [undefined, 'forged-token']) {
      const response = await app.inject({
        method: 'POST',
        url: `/api/sites/${siteId}/enrolment-tokens`,
        headers: { cookie: client.cookie, ...(token ? { [CSRF_HEADER]: token } : {}) },
        payload: { label: 'Lab' },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ code: 'CSRF_REJECTED' });
    }
    const made = await client.request('POST', `/api/sites/${siteId}/enrolment-tokens`, {
      label: 'Lab',
    });
    expect(made.statusCode).toBe(201);
  });

  it('makes a DSL set up a second factor before anything else, then asks for it at every sign-in', async () => {
    const dsl = await addStaff(app, { organisationId, roles: [{ role: 'dsl', siteId }] });
    const first = await signInAs(app, dsl);
    expect(first.session.mfa).toBe('setup_required');
    const blocked = await first.request('GET', `/api/sites/${siteId}/captures`);
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json()).toMatchObject({ code: 'MFA_SETUP_REQUIRED' });

    const setupResponse = await first.request('POST', '/api/auth/totp/setup');
    const { secret, otpauthUri } = setupResponse.json<{ secret: string; otpauthUri: string }>();
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/Lantern:/);
    const wrongCode = await first.request('POST', '/api/auth/totp/confirm', { code: '000000' });
    expect(wrongCode.json()).toMatchObject({ code: 'MFA_INVALID' });
    const now = new Date();
    expect(
      (await first.request('POST', '/api/auth/totp/confirm', { code: totpCode(secret, now) }))
        .statusCode,
    ).toBe(204);
    expect((await first.request('GET', `/api/sites/${siteId}/captures`)).statusCode).toBe(200);

    // The secret is stored sealed, never as the base32 the app was given.
    const [row] = await app.database.db
      .select({ totpSecret: staffUsers.totpSecret })
      .from(staffUsers)
      .where(eq(staffUsers.id, dsl.id));
    expect(row?.totpSecret).toMatch(/^v1\./);
    expect(row?.totpSecret).not.toContain(secret);

    const withoutCode = await login({ email: dsl.email, password: dsl.password });
    expect(withoutCode.json()).toMatchObject({ code: 'MFA_REQUIRED' });
    // The code used to confirm cannot be used again.
    const replay = await login({
      email: dsl.email,
      password: dsl.password,
      totp: totpCode(secret, now),
    });
    expect(replay.json()).toMatchObject({ code: 'MFA_INVALID' });
    const next = await login({
      email: dsl.email,
      password: dsl.password,
      totp: totpCode(secret, new Date(now.getTime() + 30_000)),
    });
    expect(next.statusCode).toBe(200);
    expect(next.json()).toMatchObject({ mfa: 'verified' });
  });

  it('changes a password only with the current one, and ends the other sessions', async () => {
    const staff = await addStaff(app, {
      organisationId,
      roles: [{ role: 'technician', siteId }],
    });
    const laptop = await signInAs(app, staff);
    const phone = await signInAs(app, staff);
    const wrong = await laptop.request('POST', '/api/auth/password', {
      currentPassword: 'not it',
      newPassword: 'a brand new long password',
    });
    expect(wrong.statusCode).toBe(403);
    const short = await laptop.request('POST', '/api/auth/password', {
      currentPassword: staff.password,
      newPassword: 'short',
    });
    expect(short.statusCode).toBe(400);
    expect(short.json<{ message: string }>().message).toMatch(/at least 12 characters/);
    const changed = await laptop.request('POST', '/api/auth/password', {
      currentPassword: staff.password,
      newPassword: 'a brand new long password',
    });
    expect(changed.statusCode).toBe(204);
    expect((await laptop.request('GET', '/api/auth/session')).statusCode).toBe(200);
    expect((await phone.request('GET', '/api/auth/session')).statusCode).toBe(401);
    expect((await login({ email: staff.email, password: staff.password })).statusCode).toBe(401);
    expect(
      (await login({ email: staff.email, password: 'a brand new long password' })).statusCode,
    ).toBe(200);
  });
});

describe('the session cookie behind https', () => {
  it('is Secure when the public URL is https', async () => {
    const { sessionCookieOptions } = await import('../../plugins/auth.ts');
    expect(sessionCookieOptions('https://lantern.example.org')).toMatchObject({
      secure: true,
      httpOnly: true,
      sameSite: 'strict',
    });
    expect(sessionCookieOptions('http://127.0.0.1:8080').secure).toBe(false);
  });
});
