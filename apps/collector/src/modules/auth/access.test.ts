/**
 * Every role against every /api route, from the one table in permissions.ts: a role whose
 * permissions include the route's is let through (any answer but 401/403); every other
 * role gets 403 FORBIDDEN. A new route must be added to SAMPLES below or this test fails.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StaffRoleSchema, type StaffRole } from '@lantern/protocol';
import { makePolicy } from '@lantern/protocol/testing';

import { buildApp } from '../../app.ts';
import type { ApiRoute } from '../../plugins/auth.ts';
import { makeTestConfig, type TestCollectorConfig } from '../../test-helpers/databases.ts';
import { seedCapture, seedDevice } from '../../test-helpers/seed.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { createEnrolmentToken } from '../devices/enrolment.service.ts';
import { createSite } from '../organisations/site.repository.ts';
import { ROLE_PERMISSIONS, type Permission } from './permissions.ts';

const ROLES = StaffRoleSchema.options;
const { version: _version, siteId: _siteId, issuedAt: _issuedAt, ...POLICY_BODY } = makePolicy();

let setup: TestCollectorConfig;
let app: FastifyInstance;
const ids: Record<string, string> = {};

/**
 * Per route: what it needs, written here independently of the route's own declaration (so a
 * route declared with the wrong permission fails), and a request it can answer when allowed.
 */
const SAMPLES: Record<
  string,
  { needs: 'public' | 'signed_in' | Permission; url?: string; body?: unknown; contentType?: string }
> = {
  'POST /api/auth/login': {
    needs: 'public',
    body: { email: 'nobody@school.example', password: 'x' },
  },
  'GET /api/auth/session': { needs: 'signed_in' },
  'POST /api/auth/logout': { needs: 'signed_in' },
  'POST /api/auth/password': {
    needs: 'signed_in',
    body: { currentPassword: 'not the password', newPassword: 'a long new password here' },
  },
  'POST /api/auth/totp/setup': { needs: 'signed_in' },
  'POST /api/auth/totp/confirm': { needs: 'signed_in', body: { code: '123456' } },
  'GET /api/sites': { needs: 'signed_in' },
  'GET /api/sites/:siteId/captures': { needs: 'captures.list' },
  'GET /api/captures/:captureId': { needs: 'captures.read' },
  'POST /api/captures/:captureId/status': {
    needs: 'captures.triage',
    body: { status: 'in_review' },
  },
  'GET /api/sites/:siteId/devices': { needs: 'devices.read' },
  'POST /api/devices/:deviceId/revoke': { needs: 'devices.manage' },
  'GET /api/sites/:siteId/enrolment-tokens': { needs: 'enrolment.manage' },
  'POST /api/sites/:siteId/enrolment-tokens': {
    needs: 'enrolment.manage',
    body: { label: 'Lab 2' },
  },
  'POST /api/enrolment-tokens/:tokenId/revoke': { needs: 'enrolment.manage' },
  'GET /api/users': { needs: 'users.manage' },
  'POST /api/users': {
    needs: 'users.manage',
    body: { email: 'new@school.example', displayName: 'New', password: 'a long new password' },
  },
  'PUT /api/users/:userId/roles': { needs: 'users.manage', body: { roles: [] } },
  'POST /api/sites/:siteId/subjects/import': {
    needs: 'subjects.import',
    body: 'UPN,Forename,Surname\nA123,Sam,Jones\n',
    contentType: 'text/csv',
  },
  'GET /api/openapi.json': { needs: 'public' },
  'GET /api/sites/:siteId/policy': { needs: 'policy.read' },
  'PUT /api/sites/:siteId/policy': {
    needs: 'policy.manage',
    body: { policy: POLICY_BODY, reason: 'screenshots smaller for the new laptops' },
  },
};

const REFUSALS = new Set(['SIGN_IN_REQUIRED', 'FORBIDDEN', 'MFA_SETUP_REQUIRED', 'CSRF_REJECTED']);

function allowed(route: ApiRoute, role: StaffRole): boolean {
  const { access } = route;
  if (access.kind === 'public' || access.kind === 'signed_in') return true;
  return ROLE_PERMISSIONS[role].includes(access.permission);
}

beforeAll(async () => {
  setup = await makeTestConfig('pglite');
  app = await buildApp(setup.config);
  const site = await createSite(app.database.db, { name: 'Example Academy' });
  ids.siteId = site.siteId;
  ids.organisationId = site.organisationId;
  ids.deviceId = await seedDevice(app.database.db, site.siteId);
  ids.captureId = await seedCapture(app.database.db, {
    siteId: site.siteId,
    deviceId: ids.deviceId,
  });
  ids.tokenId = (await createEnrolmentToken(app.database.db, { siteId: site.siteId })).id;
  const target = await addStaff(app, { organisationId: site.organisationId, roles: [] });
  ids.userId = target.id;
});

afterAll(async () => {
  await app.close();
  await setup.cleanup();
});

describe('the access table', () => {
  it('has a sample request for every /api route, and no sample for a route that is gone', () => {
    const routes = app.apiRoutes.map((route) => `${route.method} ${route.url}`).sort();
    expect(routes).toEqual(Object.keys(SAMPLES).sort());
  });

  it('declares on each route the permission this table expects', () => {
    for (const route of app.apiRoutes) {
      const { access } = route;
      const declared =
        access.kind === 'public' || access.kind === 'signed_in' ? access.kind : access.permission;
      expect(declared, `${route.method} ${route.url}`).toBe(
        SAMPLES[`${route.method} ${route.url}`]?.needs,
      );
    }
  });

  it('keeps capture content from technicians, governors and organisation admins (DESIGN.md)', () => {
    for (const role of ['technician', 'governor', 'org_admin'] as const) {
      expect(ROLE_PERMISSIONS[role]).not.toContain('captures.read');
      expect(ROLE_PERMISSIONS[role]).not.toContain('captures.list');
    }
    expect(ROLE_PERMISSIONS.governor).toEqual(['sites.read']);
  });

  it.each(ROLES)('lets %s through exactly the routes its permissions name', async (role) => {
    const outcomes: string[] = [];
    for (const route of app.apiRoutes) {
      const sample = SAMPLES[`${route.method} ${route.url}`] ?? { needs: 'public' };
      // A fresh session per route: logout and role changes end sessions.
      const staff = await addStaff(app, {
        organisationId: ids.organisationId ?? '',
        roles: [{ role, siteId: role === 'org_admin' ? null : (ids.siteId ?? null) }],
      });
      const client: StaffClient = await sessionFor(app, staff);
      const url = route.url.replace(/:(\w+)/g, (_, name: string) => ids[name] ?? name);
      const response = await client.request(
        route.method as 'GET',
        sample.url ?? url,
        sample.body,
        sample.contentType ? { 'content-type': sample.contentType } : {},
      );
      // Refused by access control, as opposed to an answer from the route itself (a wrong
      // password at sign-in is a 401 of the route's own).
      const code = response.statusCode >= 400 ? response.json<{ code?: string }>().code : '';
      const let_through = !REFUSALS.has(code ?? '');
      const expected = allowed(route, role);
      outcomes.push(
        `${route.method} ${route.url}: ${let_through ? 'let through' : 'refused'} (${response.statusCode})${let_through === expected ? '' : '  ✗ expected ' + (expected ? 'let through' : 'refused')}`,
      );
      if (!expected) expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect(outcomes.filter((line) => line.includes('✗'))).toEqual([]);
  });

  it('refuses every route but sign-in and the API document without a session', async () => {
    for (const route of app.apiRoutes) {
      const url = route.url.replace(/:(\w+)/g, (_, name: string) => ids[name] ?? name);
      const response = await app.inject({ method: route.method as 'GET', url });
      if (route.access.kind === 'public') expect(response.statusCode, url).not.toBe(401);
      else
        expect(response.json(), `${route.method} ${url}`).toMatchObject({
          code: 'SIGN_IN_REQUIRED',
        });
    }
  });
});
