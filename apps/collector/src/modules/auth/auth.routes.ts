import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import {
  ErrorBodySchema,
  LoginRequestSchema,
  PasswordChangeRequestSchema,
  SESSION_COOKIE,
  SessionResponseSchema,
  TotpConfirmRequestSchema,
  TotpSetupResponseSchema,
  type SessionResponse,
} from '@lantern/protocol';

import { API_ERROR_RESPONSES, requireStaff } from '../../errors.ts';
import { sessionCookieOptions } from '../../plugins/auth.ts';
import {
  changePassword,
  confirmTotp,
  signIn,
  signOut,
  startTotpSetup,
  type StaffPrincipal,
} from './auth.service.ts';

const sessionBody = (principal: StaffPrincipal): SessionResponse => ({
  user: { id: principal.userId, email: principal.email, displayName: principal.displayName },
  roles: principal.roles.map(({ role, siteId, siteName }) => ({ role, siteId, siteName })),
  mfa: principal.mfa,
  csrfToken: principal.csrfToken,
  expiresAt: principal.expiresAt.toISOString(),
});

const errors = API_ERROR_RESPONSES;

/** Staff sign-in, sign-out, password change and second-factor set-up (`/api/auth/…`). */
export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/api/auth/login',
    {
      config: { access: { kind: 'public' } },
      schema: {
        tags: ['auth'],
        body: LoginRequestSchema,
        response: { 200: SessionResponseSchema, ...errors, 423: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const { token, principal } = await signIn(app.database.db, app.secretKey, request.body);
      reply.setCookie(SESSION_COOKIE, token, sessionCookieOptions(app.config.publicUrl));
      return sessionBody(principal);
    },
  );

  app.get(
    '/api/auth/session',
    {
      config: { access: { kind: 'signed_in', duringMfaSetup: true } },
      schema: { tags: ['auth'], response: { 200: SessionResponseSchema, ...errors } },
    },
    async (request) => sessionBody(requireStaff(request.staff)),
  );

  app.post(
    '/api/auth/logout',
    {
      config: { access: { kind: 'signed_in', duringMfaSetup: true } },
      schema: { tags: ['auth'], response: { 204: z.null(), ...errors } },
    },
    async (request, reply) => {
      await signOut(app.database.db, requireStaff(request.staff));
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/password',
    {
      config: { access: { kind: 'signed_in', duringMfaSetup: true } },
      schema: {
        tags: ['auth'],
        body: PasswordChangeRequestSchema,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await changePassword(
        app.database.db,
        requireStaff(request.staff),
        request.body.currentPassword,
        request.body.newPassword,
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/totp/setup',
    {
      config: { access: { kind: 'signed_in', duringMfaSetup: true } },
      schema: { tags: ['auth'], response: { 200: TotpSetupResponseSchema, ...errors } },
    },
    async (request) => startTotpSetup(app.database.db, app.secretKey, requireStaff(request.staff)),
  );

  app.post(
    '/api/auth/totp/confirm',
    {
      config: { access: { kind: 'signed_in', duringMfaSetup: true } },
      schema: {
        tags: ['auth'],
        body: TotpConfirmRequestSchema,
        response: { 204: z.null(), ...errors, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      await confirmTotp(
        app.database.db,
        app.secretKey,
        requireStaff(request.staff),
        request.body.code,
      );
      return reply.code(204).send(null);
    },
  );
};
