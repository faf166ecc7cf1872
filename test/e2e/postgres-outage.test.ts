import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeDeviceCaptures, ResendingAgent } from '../helpers/agent.ts';
import {
  collectorEnv,
  createEnrolmentToken,
  createSite,
  enrolDevice,
  readyStatus,
  startCollector,
  type ServingCollector,
} from '../helpers/collector.ts';
import { PrivatePostgres, queryRows } from '../helpers/postgres.ts';
import { waitUntil } from '../helpers/wait.ts';

const AGENTS = 3;
/** The outage the issue describes. */
const OUTAGE_MS = 30_000;
/** Each agent captures this many every PRODUCE_EVERY_MS, all through the test: steady load. */
const CAPTURES_PER_TICK = 5;
const PRODUCE_EVERY_MS = 100;

/** The collector process has not exited; if it has, its output says why. */
function expectAlive(collector: ServingCollector): void {
  const { child } = collector.process;
  expect(
    { exitCode: child.exitCode, signal: child.signalCode },
    `the collector exited; its output:\n${collector.process.output()}`,
  ).toEqual({ exitCode: null, signal: null });
}

describe('PostgreSQL stopped for 30 s under load (a private cluster)', () => {
  let postgres: PrivatePostgres | undefined;
  let dataDir: string;
  let collector: ServingCollector | undefined;
  let producer: NodeJS.Timeout | undefined;
  const agents: ResendingAgent[] = [];

  beforeAll(async () => {
    postgres = await PrivatePostgres.create();
    await queryRows(postgres.url(), 'CREATE DATABASE lantern');
    dataDir = await mkdtemp(join(tmpdir(), 'lantern-outage-'));
  });

  afterAll(async () => {
    clearInterval(producer);
    await Promise.all(agents.map((agent) => agent.stop()));
    await collector?.process.stop('SIGKILL');
    await postgres?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stays up, is not ready while the database is down, acknowledges only what it stored, and recovers', async () => {
    const cluster = postgres;
    if (!cluster) throw new Error('the private PostgreSQL did not start');
    const env = collectorEnv({ databaseUrl: cluster.url('lantern'), dataDir });
    const siteId = await createSite(env, 'Outage Test Academy');
    const token = await createEnrolmentToken(env, siteId, AGENTS);
    const running = await startCollector(env);
    collector = running;
    const devices = await Promise.all(
      Array.from({ length: AGENTS }, (_, index) =>
        enrolDevice(running.url, token, `OUTAGE-PC${index}`),
      ),
    );

    const produced = new Set<string>();
    const acknowledged: string[] = [];
    for (const device of devices) {
      agents.push(
        new ResendingAgent({
          baseUrl: running.url,
          device,
          batchSize: 10,
          maxFramesInFlight: 2,
          onAck: (ids) => acknowledged.push(...ids),
        }),
      );
    }
    const produce = () => {
      for (const [index, agent] of agents.entries()) {
        const device = devices[index];
        if (!device) continue;
        const captures = makeDeviceCaptures(device, CAPTURES_PER_TICK);
        for (const capture of captures) produced.add(capture.id);
        agent.enqueue(captures);
      }
    };
    produce();
    producer = setInterval(produce, PRODUCE_EVERY_MS);
    for (const agent of agents) agent.start();

    await waitUntil('captures are being acknowledged', () => acknowledged.length >= 200, {
      timeoutMs: 20_000,
      detail: () => agents.map((agent) => agent.describe()).join('\n'),
    });
    expect(await readyStatus(running.url)).toBe(200);

    await cluster.stop();
    const stoppedAt = Date.now();
    const readyWhileDown: number[] = [];
    // The outage lasts a fixed time on purpose; meanwhile /readyz is asked twice a second.
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      readyWhileDown.push(await readyStatus(running.url));
      await delay(500);
    }
    expectAlive(running);
    expect(readyWhileDown.length).toBeGreaterThan(10);
    expect(new Set(readyWhileDown)).toEqual(new Set([503]));
    // The agents kept sending into the outage and were told to retry.
    expect(
      agents.reduce((sum, agent) => sum + (agent.stats.errors.INTERNAL ?? 0), 0),
    ).toBeGreaterThan(0);

    await cluster.start();
    await waitUntil(
      '/readyz answers 200 again',
      async () => (await readyStatus(running.url)) === 200,
      {
        timeoutMs: 20_000,
      },
    );
    clearInterval(producer);
    await waitUntil(
      'every agent has every capture acknowledged',
      () => agents.every((agent) => agent.unackedCount === 0),
      {
        timeoutMs: 30_000,
        detail: () => agents.map((agent) => agent.describe()).join('\n'),
      },
    );
    expectAlive(running);

    for (const agent of agents) expect(agent.stats.refused).toEqual([]);
    const stored = new Set(
      (await queryRows<{ id: string }>(cluster.url('lantern'), 'SELECT id FROM captures')).map(
        (row) => row.id,
      ),
    );
    // Every acknowledgement was true: the capture is in the table.
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    // Each capture once, and nothing else.
    const [counts] = await queryRows<{ rows: string; ids: string }>(
      cluster.url('lantern'),
      'SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM captures',
    );
    expect(counts).toEqual({ rows: String(produced.size), ids: String(produced.size) });
    expect([...produced].filter((id) => !stored.has(id))).toEqual([]);
    expect(new Set(acknowledged).size).toBe(produced.size);
  }, 120_000);
});
