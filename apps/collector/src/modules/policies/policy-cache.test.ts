import { describe, expect, it } from 'vitest';

import type { Policy } from '@lantern/protocol';

import { PolicyCache } from './policy-cache.ts';

/** A reader that counts its reads and returns a policy naming the read. */
function countingReader(fail: (reads: number) => boolean = () => false) {
  let reads = 0;
  const read = async (siteId: string): Promise<Policy> => {
    reads += 1;
    await Promise.resolve();
    if (fail(reads)) throw new Error('the database does not answer');
    return { siteId, version: `v${reads}` } as unknown as Policy;
  };
  return { read, reads: () => reads };
}

describe('PolicyCache', () => {
  it('reads a site once for every caller, including those asking while the read runs', async () => {
    const reader = countingReader();
    const cache = new PolicyCache(reader.read);
    const policies = await Promise.all(Array.from({ length: 50 }, () => cache.current('site-a')));
    expect(new Set(policies.map((policy) => policy.version))).toEqual(new Set(['v1']));
    expect((await cache.current('site-a')).version).toBe('v1');
    expect(reader.reads()).toBe(1);
  });

  it('reads again after a refresh or a clear, and keeps sites apart', async () => {
    const reader = countingReader();
    const cache = new PolicyCache(reader.read);
    expect((await cache.current('site-a')).version).toBe('v1');
    expect((await cache.current('site-b')).siteId).toBe('site-b');
    expect((await cache.refresh('site-a')).version).toBe('v3');
    expect((await cache.current('site-a')).version).toBe('v3');
    cache.clear();
    expect((await cache.current('site-a')).version).toBe('v4');
  });

  it('does not keep a failed read', async () => {
    const reader = countingReader((reads) => reads === 1);
    const cache = new PolicyCache(reader.read);
    await expect(cache.current('site-a')).rejects.toThrow('does not answer');
    expect((await cache.current('site-a')).version).toBe('v2');
  });

  it('answers a past version from the current policy when it is that one, else reads it once', async () => {
    const reader = countingReader();
    const versionReads: string[] = [];
    const cache = new PolicyCache(reader.read, async (siteId, version) => {
      versionReads.push(version);
      await Promise.resolve();
      return version === 'v0' ? ({ siteId, version } as unknown as Policy) : undefined;
    });
    expect((await cache.version('site-a', 'v1'))?.version).toBe('v1');
    expect(versionReads).toEqual([]);
    expect((await cache.version('site-a', 'v0'))?.version).toBe('v0');
    expect((await cache.version('site-a', 'v0'))?.version).toBe('v0');
    expect(await cache.version('site-a', 'local-1')).toBeUndefined();
    expect(versionReads).toEqual(['v0', 'local-1']);
    expect(reader.reads()).toBe(1);
  });
});
