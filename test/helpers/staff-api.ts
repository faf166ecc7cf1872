import { Secret, TOTP } from 'otpauth';

import {
  CSRF_HEADER,
  SESSION_COOKIE,
  SessionResponseSchema,
  TotpSetupResponseSchema,
  type SessionResponse,
} from '@lantern/protocol';

/** Anything with zod's `parse`: the protocol's response schemas. */
interface Parser<T> {
  parse(value: unknown): T;
}

/** A signed-in browser against one collector: its cookie and CSRF token go with every request. */
export interface StaffApi {
  readonly baseUrl: string;
  readonly session: SessionResponse;
  request(method: string, path: string, body?: unknown): Promise<Response>;
  /** Request, expect `status`, parse the body with `schema`; fails loudly with the body otherwise. */
  expectJson<T>(
    schema: Parser<T>,
    method: string,
    path: string,
    options?: { body?: unknown; status?: number },
  ): Promise<T>;
}

/** The code an authenticator app shows for `secret` now (SHA-1, 6 digits, 30 s, as the collector uses). */
export function totpCode(secret: string, at: Date = new Date()): string {
  return new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: at.getTime() });
}

function apiFor(baseUrl: string, cookie: string, session: SessionResponse): StaffApi {
  const request = (method: string, path: string, body?: unknown) =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        cookie,
        [CSRF_HEADER]: session.csrfToken,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    baseUrl,
    session,
    request,
    expectJson: async (schema, method, path, options = {}) => {
      const response = await request(method, path, options.body);
      const text = await response.text();
      const status = options.status ?? 200;
      if (response.status !== status) {
        throw new Error(
          `${method} ${baseUrl}${path}: expected ${status}, got ${response.status} ${text}`,
        );
      }
      return schema.parse(text === '' ? null : JSON.parse(text));
    },
  };
}

/** POST /api/auth/login on `baseUrl`; fails loudly unless it answers 200 with a session cookie. */
export async function signIn(
  baseUrl: string,
  credentials: { email: string; password: string; totp?: string },
): Promise<StaffApi> {
  const response = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // Only the login fields: the request schema is strict.
    body: JSON.stringify({
      email: credentials.email,
      password: credentials.password,
      ...(credentials.totp === undefined ? {} : { totp: credentials.totp }),
    }),
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`sign-in at ${baseUrl} failed: ${response.status} ${text}`);
  }
  const cookie = response.headers
    .getSetCookie()
    .map((header) => header.split(';')[0] ?? '')
    .find((pair) => pair.startsWith(`${SESSION_COOKIE}=`));
  if (!cookie) throw new Error(`sign-in at ${baseUrl} set no ${SESSION_COOKIE} cookie`);
  return apiFor(baseUrl, cookie, SessionResponseSchema.parse(JSON.parse(text)));
}

/**
 * Set up a second factor as a DSL does at first sign-in (setup, then confirm a code); the
 * same session is then verified. Returns the secret, for signing in elsewhere.
 */
export async function setUpTotp(api: StaffApi): Promise<string> {
  const { secret } = await api.expectJson(TotpSetupResponseSchema, 'POST', '/api/auth/totp/setup');
  const confirm = await api.request('POST', '/api/auth/totp/confirm', { code: totpCode(secret) });
  if (confirm.status !== 204) {
    throw new Error(
      `confirming the second factor failed: ${confirm.status} ${await confirm.text()}`,
    );
  }
  return secret;
}
