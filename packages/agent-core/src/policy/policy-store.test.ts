import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Policy } from '@lantern/protocol';
import { makePolicy, TEST_SITE_ID } from '@lantern/protocol/testing';

import { LOCAL_POLICY_FILE, PolicyStore } from './policy-store.ts';

describe('the policy store', () => {
  let dir: string;
  let store: PolicyStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lantern-policy-'));
    store = new PolicyStore({ dataDir: dir, siteId: TEST_SITE_ID, lexiconVersion: '2026.11.1' });
  });

  afterEach(async () => {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const nextChange = () =>
    new Promise<[Policy, string]>((resolve) =>
      store.once('change', (policy, origin) => resolve([policy, origin])),
    );
  const nextProblem = () =>
    new Promise<{ message: string }>((resolve) => store.once('problem', resolve));

  it('follows the built-in policy first, then the collector’s, cached across a restart', async () => {
    await store.start();
    expect(store.origin).toBe('built-in');
    expect(store.current.screenshots.categories.csam_iioc).toBe('off');
    await store.receive(makePolicy({ version: '7' }));
    expect(store.current.version).toBe('7');
    await store.stop();
    store = new PolicyStore({ dataDir: dir, siteId: TEST_SITE_ID, lexiconVersion: '2026.11.1' });
    await store.start();
    expect(store).toMatchObject({ origin: 'collector', collectorVersion: '7' });
  });

  it('hot-reloads a technician’s local file, refuses a bad one clearly and keeps the last good', async () => {
    await store.start();
    await store.receive(makePolicy({ version: '7' }));
    let change = nextChange();
    await writeFile(
      join(dir, LOCAL_POLICY_FILE),
      JSON.stringify(makePolicy({ version: 'local-1' })),
    );
    expect(await change).toEqual([expect.objectContaining({ version: 'local-1' }), 'local']);

    const problem = nextProblem();
    await writeFile(
      join(dir, LOCAL_POLICY_FILE),
      JSON.stringify({ ...makePolicy({ version: 'local-2' }), heartbeatIntervalMs: 5 }),
    );
    expect((await problem).message).toMatch(
      /policy\.local\.json is not a valid policy: heartbeatIntervalMs.*The policy in force \(local-1\) stays/,
    );
    expect(store.current.version).toBe('local-1');

    const broken = nextProblem();
    await writeFile(join(dir, LOCAL_POLICY_FILE), '{ not json');
    expect((await broken).message).toMatch(/is not valid JSON/);

    change = nextChange();
    await rm(join(dir, LOCAL_POLICY_FILE));
    expect(await change).toEqual([expect.objectContaining({ version: '7' }), 'collector']);
  });

  it('refuses a policy for another site', async () => {
    await store.start();
    const problem = nextProblem();
    await store.receive(makePolicy({ siteId: '11111111-2222-4333-8444-555555555555' }));
    expect((await problem).message).toMatch(/is for site 11111111/);
    expect(store.origin).toBe('built-in');
  });
});
