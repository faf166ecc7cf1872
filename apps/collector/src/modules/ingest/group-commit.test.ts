import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeCapture, makeEnrolRequest } from '@lantern/protocol/testing';

import { startCollector, type RunningCollector } from '../../server.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { captures } from '../captures/capture.table.ts';
import { createEnrolmentToken, enrolDevice } from '../devices/enrolment.service.ts';
import { createSite } from '../organisations/site.repository.ts';
import { GroupCommitter } from './group-commit.ts';

describe.each(DATABASE_KINDS)('group commit on %s', (kind) => {
  let setup: TestCollectorConfig;
  let collector: RunningCollector;
  let siteId: string;
  let deviceId: string;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    collector = await startCollector(setup.config);
    const db = collector.app.database.db;
    ({ siteId } = await createSite(db, { name: 'Example Academy' }));
    const { token } = await createEnrolmentToken(db, { siteId, maxUses: 1 });
    ({ deviceId } = await enrolDevice(db, makeEnrolRequest({ enrolmentToken: token })));
  });

  afterAll(async () => {
    await collector.close();
    await setup.cleanup();
  });

  it('stores what waited together in one commit, and the same capture from two sockets once', async () => {
    const committer = new GroupCommitter(collector.app.database.db);
    const first = makeCapture({ siteId, deviceId });
    const shared = makeCapture({ siteId, deviceId });
    const running = committer.submit([first]);
    // These wait for the commit in flight, then share the next one.
    const a = committer.submit([shared, makeCapture({ siteId, deviceId })]);
    const b = committer.submit([shared]);
    await Promise.all([running, a, b]);
    expect(committer.stats).toEqual({ commits: 2, captures: 3 });
    const stored = await collector.app.database.db
      .select({ id: captures.id })
      .from(captures)
      .where(inArray(captures.id, [first.id, shared.id]));
    expect(stored).toHaveLength(2);
    await committer.close();
  });

  it('fails only the submitter whose capture the database refuses, not the others grouped with it', async () => {
    const committer = new GroupCommitter(collector.app.database.db);
    const running = committer.submit([makeCapture({ siteId, deviceId })]);
    const good = makeCapture({ siteId, deviceId });
    // A device the database does not know: the foreign key refuses it.
    const refused = makeCapture({ siteId, deviceId: '00000000-0000-4000-8000-00000000dead' });
    const fine = committer.submit([good]);
    const bad = committer.submit([refused]);
    await running;
    await expect(fine).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow();
    const stored = await collector.app.database.db
      .select({ id: captures.id })
      .from(captures)
      .where(inArray(captures.id, [good.id, refused.id]));
    expect(stored).toEqual([{ id: good.id }]);
    await committer.close();
  });
});
