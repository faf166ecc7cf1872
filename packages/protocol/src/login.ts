import { z } from 'zod';

/**
 * A login name as agent and collector compare it: `SCHOOL\jsmith`, `jsmith@school.org` and
 * `JSmith` are all the login `jsmith`. The collector matches a capture to its pupil with it,
 * the MIS import stores logins with it, and a device digests its user's login with it.
 */
export function normaliseLoginName(loginName: string): string {
  const withoutDomain = loginName.includes('\\')
    ? (loginName.split('\\').pop() ?? loginName)
    : loginName;
  return (withoutDomain.split('@')[0] ?? withoutDomain).trim().toLowerCase();
}

/** A login digest (see `loginDigest`): 16 lowercase hex characters. */
export const LoginDigestSchema = z
  .string()
  .regex(/^[0-9a-f]{16}$/, 'must be a login digest: 16 lowercase hex characters');
export type LoginDigest = z.infer<typeof LoginDigestSchema>;

const encoder = new TextEncoder();

/**
 * How a policy names a pupil's login without holding the login name: the first 8 bytes,
 * in lowercase hex, of SHA-256 over `lantern-login-v1`, the site id and the normalised
 * login name, joined by NUL. Every device of a site caches the site's policy, where a pupil
 * may read it: digests let a device ask "is my user in this lesson's groups?" without the
 * file being a list of the school's logins by class. 64 bits keep a collision between
 * two logins of one site out of reach (about 1 in 10¹¹ for 20,000 logins).
 *
 * Uses WebCrypto (`globalThis.crypto.subtle`), so it runs the same in Node and in a browser.
 */
export async function loginDigest(siteId: string, loginName: string): Promise<LoginDigest> {
  const input = encoder.encode(
    `lantern-login-v1\u0000${siteId.toLowerCase()}\u0000${normaliseLoginName(loginName)}`,
  );
  const hash = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', input));
  let hex = '';
  for (const byte of hash.subarray(0, 8)) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
