import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeDeviceCaptures, ResendingAgent } from '../helpers/agent.ts';
import {
  collectorEnv,
  createEnrolmentToken,
  createSite,
  enrolDevice,
  startCollector,
  type ServingCollector,
} from '../helpers/collector.ts';
import { createDatabase, queryRows } from '../helpers/postgres.ts';
import { waitUntil } from '../helpers/wait.ts';

const DEVICES = 20;
const CAPTURES_PER_DEVICE = 500;
const TOTAL = DEVICES * CAPTURES_PER_DEVICE;
/** SIGKILL once this many captures are acknowledged: well into the stream, far from its end. */
const KILL_AFTER_ACKS = 3_000;

describe('collector killed with SIGKILL mid-stream (PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let dataDir: string;
  let collector: ServingCollector | undefined;
  const agents: ResendingAgent[] = [];

  beforeAll(async () => {
    database = await createDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'lantern-kill-'));
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await collector?.process.stop('SIGKILL');
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores each of 10,000 captures exactly once and acknowledges every one after a restart', async () => {
    const env = collectorEnv({ databaseUrl: database.url, dataDir });
    const siteId = await createSite(env, 'Kill Test Academy');
    const token = await createEnrolmentToken(env, siteId, DEVICES);
    collector = await startCollector(env);
    const first = collector;
    const devices = await Promise.all(
      Array.from({ length: DEVICES }, (_, index) =>
        enrolDevice(first.url, token, `KILL-PC${String(index).padStart(2, '0')}`),
      ),
    );

    let ackedTotal = 0;
    let killedAt: { acked: number; framesInFlight: number } | undefined;
    const sent = new Map<string, string[]>();
    for (const device of devices) {
      const agent = new ResendingAgent({
        // The restarted collector listens on the same port.
        baseUrl: first.url,
        device,
        batchSize: 10,
        maxFramesInFlight: 2,
        onAck: (ids) => {
          ackedTotal += ids.length;
          if (killedAt === undefined && ackedTotal >= KILL_AFTER_ACKS) {
            // Synchronously, from inside the stream: other agents have frames in flight.
            first.process.child.kill('SIGKILL');
            killedAt = {
              acked: ackedTotal,
              framesInFlight: agents.reduce((sum, each) => sum + each.framesInFlight, 0),
            };
          }
        },
      });
      const captures = makeDeviceCaptures(device, CAPTURES_PER_DEVICE);
      sent.set(
        device.deviceId,
        captures.map((capture) => capture.id),
      );
      agent.enqueue(captures);
      agents.push(agent);
    }
    for (const agent of agents) agent.start();

    await waitUntil(
      `${KILL_AFTER_ACKS} captures are acknowledged and the collector killed`,
      () => killedAt !== undefined,
      {
        timeoutMs: 60_000,
        detail: () => agents.map((agent) => agent.describe()).join('\n'),
      },
    );
    expect(await first.process.exited()).toBe('SIGKILL');
    expect(killedAt).toBeDefined();
    expect(killedAt?.acked).toBeLessThan(TOTAL);
    // The kill landed with captures on the wire, not between two quiet moments.
    expect(killedAt?.framesInFlight).toBeGreaterThan(0);
    // Nothing was acknowledged that the dead collector had not committed.
    const ackedBeforeRestart = agents.flatMap((agent) => [...agent.acked]);
    const [durable] = await queryRows<{ stored: string }>(
      database.url,
      'SELECT count(*) AS stored FROM captures WHERE id = ANY($1::uuid[])',
      [ackedBeforeRestart],
    );
    expect(durable?.stored).toBe(String(ackedBeforeRestart.length));

    collector = await startCollector(
      collectorEnv({ databaseUrl: database.url, dataDir, port: first.port }),
    );
    await waitUntil(
      'every agent has every capture acknowledged',
      () => agents.every((agent) => agent.unackedCount === 0),
      {
        timeoutMs: 60_000,
        detail: () =>
          agents
            .filter((agent) => agent.unackedCount > 0)
            .map((agent) => agent.describe())
            .join('\n'),
      },
    );

    for (const agent of agents) {
      expect(agent.stats.refused).toEqual([]);
      expect([...agent.acked].sort()).toEqual([...(sent.get(agent.deviceId) ?? [])].sort());
      // Every agent lost its connection and came back to the restarted collector.
      expect(agent.stats.welcomes).toBeGreaterThanOrEqual(2);
    }
    // Some captures went twice (in flight at the kill) and the database still holds one each.
    expect(agents.reduce((sum, agent) => sum + agent.stats.resends, 0)).toBeGreaterThan(0);
    const [counts] = await queryRows<{ rows: string; ids: string; matches: string }>(
      database.url,
      `SELECT (SELECT count(*) FROM captures) AS rows,
              (SELECT count(DISTINCT id) FROM captures) AS ids,
              (SELECT count(*) FROM capture_matches) AS matches`,
    );
    expect(counts).toEqual({ rows: String(TOTAL), ids: String(TOTAL), matches: String(TOTAL) });
    const stored = await queryRows<{ id: string }>(database.url, 'SELECT id FROM captures');
    const expected = new Set([...sent.values()].flat());
    expect(stored.filter((row) => !expected.has(row.id))).toEqual([]);
  }, 90_000);
});
