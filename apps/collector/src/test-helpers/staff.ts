import { randomBytes } from 'node:crypto';

import { eq } from 'drizzle-orm';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Secret, TOTP } from 'otpauth';

import {
  CSRF_HEADER,
  SESSION_COOKIE,
  SessionResponseSchema,
  type RoleGrant,
  type SessionResponse,
} from '@lantern/protocol';

import { seal } from '../modules/auth/secret-box.ts';
import { hashSecret } from '../modules/devices/enrolment.service.ts';
import { createUser } from '../modules/users/user.service.ts';
import { staffSessions, staffUsers } from '../modules/users/user.table.ts';

export interface TestStaff {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  /** Base32, when the user has a second factor set up. */
  readonly totpSecret: string | undefined;
}

/** The code an authenticator app would show for `secret` at `at`. */
export function totpCode(secret: string, at: Date = new Date()): string {
  return new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: at.getTime() });
}

/** Make a member of staff; `totp: true` sets up a second factor as if they had confirmed one. */
export async function addStaff(
  app: FastifyInstance,
  input: { organisationId: string; roles: readonly RoleGrant[]; totp?: boolean; email?: string },
): Promise<TestStaff> {
  const email = input.email ?? `staff-${randomBytes(4).toString('hex')}@school.example`;
  const password = `correct horse ${randomBytes(6).toString('hex')}`;
  const id = await createUser(app.database.db, {
    organisationId: input.organisationId,
    email,
    displayName: 'Test Staff',
    password,
    roles: input.roles,
    createdBy: null,
  });
  let totpSecret: string | undefined;
  if (input.totp) {
    totpSecret = new Secret({ size: 20 }).base32;
    await app.database.db
      .update(staffUsers)
      .set({ totpSecret: seal(app.secretKey, totpSecret) })
      .where(eq(staffUsers.id, id));
  }
  return { id, email, password, totpSecret };
}

/** A signed-in browser: its cookie and CSRF token go with every request. */
export interface StaffClient {
  readonly session: SessionResponse;
  readonly cookie: string;
  request(
    method: InjectOptions['method'],
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
}

export async function signInAs(app: FastifyInstance, staff: TestStaff): Promise<StaffClient> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: {
      email: staff.email,
      password: staff.password,
      ...(staff.totpSecret ? { totp: totpCode(staff.totpSecret) } : {}),
    },
  });
  if (response.statusCode !== 200) {
    throw new Error(`sign-in failed: ${response.statusCode} ${response.body}`);
  }
  const session = SessionResponseSchema.parse(response.json());
  const cookie = response.cookies.find((item) => item.name === SESSION_COOKIE);
  if (!cookie) throw new Error('sign-in set no session cookie');
  return clientFor(app, session, `${SESSION_COOKIE}=${cookie.value}`);
}

export function clientFor(
  app: FastifyInstance,
  session: SessionResponse,
  cookie: string,
): StaffClient {
  return {
    session,
    cookie,
    request: (method, url, payload, headers = {}) =>
      app.inject({
        method,
        url,
        headers: { cookie, [CSRF_HEADER]: session.csrfToken, ...headers },
        ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }),
      }),
  };
}

/**
 * A signed-in session made directly in the database (second factor as given), for tests
 * about what a role may do rather than about signing in, which `auth.test.ts` covers.
 */
export async function sessionFor(
  app: FastifyInstance,
  staff: TestStaff,
  mfa: 'verified' | 'not_required' | 'setup_required' = 'verified',
): Promise<StaffClient> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  await app.database.db.insert(staffSessions).values({
    tokenHash: hashSecret(token),
    userId: staff.id,
    csrfToken,
    mfa,
    expiresAt: new Date(Date.now() + 60 * 60 * 1000),
  });
  const cookie = `${SESSION_COOKIE}=${token}`;
  const response = await app.inject({
    method: 'GET',
    url: '/api/auth/session',
    headers: { cookie },
  });
  return clientFor(app, SessionResponseSchema.parse(response.json()), cookie);
}
