import cookie from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

import { CSRF_HEADER, SESSION_COOKIE } from '@lantern/protocol';

import { WireError } from '../errors.ts';
import {
  resolveSession,
  sameSecret,
  SESSION_MAX_MS,
  type StaffPrincipal,
} from '../modules/auth/auth.service.ts';
import { permissionsOf, type Permission } from '../modules/auth/permissions.ts';
import { loadSecretKey } from '../modules/auth/secret-box.ts';

/**
 * Who may call a route. Every `/api` route must say (registration fails otherwise), and
 * this plugin is the one place that enforces it:
 * - `public`: anyone (sign-in, the OpenAPI document);
 * - `signed_in`: any member of staff; `duringMfaSetup` lets a user who must still set up a
 *   second factor reach it;
 * - `site`: the permission at the site named by the `:siteId` parameter;
 * - `resource`: the permission at some site; the handler finds the record's site and calls
 *   `request.authoriseSite(siteId)`, which answers 404 for another site's records;
 * - `organisation`: the permission anywhere in the user's organisation.
 */
export type RouteAccess =
  | { readonly kind: 'public' }
  | { readonly kind: 'signed_in'; readonly duringMfaSetup?: boolean }
  | { readonly kind: 'site' | 'resource' | 'organisation'; readonly permission: Permission };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The signed-in member of staff, or null. */
    staff: StaffPrincipal | null;
    /**
     * For `resource` routes: check the route's permission at the record's site.
     * @throws WireError NOT_FOUND (404) when the user may not, so other sites' records stay invisible.
     */
    authoriseSite(siteId: string, notFound: string): void;
  }
  interface FastifyInstance {
    /** Encrypts secrets kept at rest (second-factor secrets). */
    secretKey: Buffer;
    /** Every /api route and who may call it (for the access test and the docs). */
    apiRoutes: readonly ApiRoute[];
  }
}

export interface ApiRoute {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether the principal holds `permission` at `siteId`. */
export function mayAt(principal: StaffPrincipal, permission: Permission, siteId: string): boolean {
  const roles = principal.siteRoles.get(siteId);
  return roles !== undefined && permissionsOf(roles).has(permission);
}

/** Whether the principal holds `permission` at any site (or, for org_admin, the organisation). */
export function mayAnywhere(principal: StaffPrincipal, permission: Permission): boolean {
  return permissionsOf(principal.roles.map(({ role }) => role)).has(permission);
}

export const authPlugin = fp(
  async (app) => {
    app.decorate('secretKey', await loadSecretKey(app.config));
    await app.register(cookie);
    app.decorateRequest('staff', null);
    app.decorateRequest('authoriseSite', function (this: FastifyRequest, siteId, notFound) {
      const access = this.routeOptions.config.access;
      if (access?.kind !== 'resource' || !this.staff)
        throw new Error(`authoriseSite() on a route that is not 'resource': ${this.url}`);
      if (!mayAt(this.staff, access.permission, siteId))
        throw new WireError('NOT_FOUND', 404, notFound);
    });

    const apiRoutes: ApiRoute[] = [];
    app.decorate('apiRoutes', apiRoutes);
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/api/')) return;
      const access = route.config?.access;
      if (!access) {
        throw new Error(
          `${String(route.method)} ${route.url} has no config.access: every /api route must say who may call it.`,
        );
      }
      for (const method of [route.method].flat())
        if (method !== 'HEAD') apiRoutes.push({ method, url: route.url, access });
    });

    app.addHook('onRequest', async (request) => {
      const access = request.routeOptions.config.access;
      if (!access || access.kind === 'public') return;
      const token = request.cookies[SESSION_COOKIE];
      const staff = token ? await resolveSession(app.database.db, token) : undefined;
      if (!staff) {
        throw new WireError(
          'SIGN_IN_REQUIRED',
          401,
          'Sign in to Lantern first (your session may have ended).',
        );
      }
      request.staff = staff;
      if (!SAFE_METHODS.has(request.method)) {
        const sent = request.headers[CSRF_HEADER];
        if (typeof sent !== 'string' || !sameSecret(sent, staff.csrfToken)) {
          throw new WireError(
            'CSRF_REJECTED',
            403,
            `This request did not carry the session's ${CSRF_HEADER} header. Reload the dashboard and try again.`,
          );
        }
      }
      if (
        staff.mfa === 'setup_required' &&
        !(access.kind === 'signed_in' && access.duringMfaSetup)
      ) {
        throw new WireError(
          'MFA_SETUP_REQUIRED',
          403,
          'Your role needs a second factor: set up an authenticator app before using Lantern.',
        );
      }
      if (access.kind === 'signed_in') return;
      const allowed =
        access.kind === 'site'
          ? mayAt(staff, access.permission, (request.params as { siteId?: string }).siteId ?? '')
          : mayAnywhere(staff, access.permission);
      if (!allowed) {
        throw new WireError('FORBIDDEN', 403, 'Your role does not allow this.');
      }
    });
  },
  { name: 'auth', dependencies: ['config', 'db'] },
);

/** The session cookie's settings: httpOnly, SameSite=Strict, Secure behind https. */
export function sessionCookieOptions(publicUrl: string) {
  return {
    httpOnly: true,
    sameSite: 'strict',
    secure: publicUrl.startsWith('https://'),
    path: '/',
    maxAge: SESSION_MAX_MS / 1000,
  } as const;
}
