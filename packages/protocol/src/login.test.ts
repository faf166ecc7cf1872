import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { LoginDigestSchema, loginDigest, normaliseLoginName } from './login.ts';
import { TEST_SITE_ID } from './testing.ts';

describe('normaliseLoginName', () => {
  it('drops a domain prefix or suffix, spaces and case', () => {
    for (const name of ['SCHOOL\\jsmith', 'jsmith@school.example', ' JSmith ', 'A\\B\\JSMITH']) {
      expect(normaliseLoginName(name), name).toBe('jsmith');
    }
  });
});

describe('loginDigest', () => {
  it('is SHA-256 over a fixed prefix, the site and the normalised login, for third-party agents', async () => {
    // The published test vector: any implementation must give this.
    expect(await loginDigest(TEST_SITE_ID, 'jsmith')).toBe('ad2278d7fe2b74b4');
    const byNode = createHash('sha256')
      .update(`lantern-login-v1\u0000${TEST_SITE_ID}\u0000jsmith`)
      .digest('hex')
      .slice(0, 16);
    expect(await loginDigest(TEST_SITE_ID, 'jsmith')).toBe(byNode);
  });

  it('names one login however the OS spells it, and differs between sites and logins', async () => {
    const digest = await loginDigest(TEST_SITE_ID, 'jsmith');
    expect(LoginDigestSchema.safeParse(digest).success).toBe(true);
    expect(await loginDigest(TEST_SITE_ID.toUpperCase(), 'SCHOOL\\JSmith')).toBe(digest);
    expect(await loginDigest(TEST_SITE_ID, 'jsmith2')).not.toBe(digest);
    expect(await loginDigest('11111111-2222-4333-8444-555555555555', 'jsmith')).not.toBe(digest);
  });
});
