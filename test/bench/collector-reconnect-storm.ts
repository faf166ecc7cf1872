// Reconnect storm benchmark: 5,000 agents reconnect at once (after a collector restart or a
// network outage), each with 20 captures spooled; every capture must be stored exactly
// once, and /healthz must keep answering. Run: pnpm bench:collector reconnect-storm.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { testUuidV7 } from '@lantern/protocol/testing';

import {
  ascending,
  backgroundLoad,
  CpuMeter,
  describeCpu,
  listenOverflows,
  printTable,
  progress,
  quantile,
  runBench,
  seedSite,
  split,
  thousands,
  verdict,
} from './collector-harness.ts';
import type { ProbeResult, StormResult } from './collector-load-worker.ts';

const AGENTS = 5_000;
const SPOOLED = 20;
/** Load-generator processes the agents are spread over (one per core of this machine). */
const WORKERS = 2;
/** One agent in this many loses its first ack (the socket drops) and sends everything again. */
const DROP_EVERY = 10;
const PROBE_INTERVAL_MS = 50;
const QUIET_MS = 3_000;
const STORM_DEADLINE_MS = 120_000;

await runBench('collector reconnect storm', 300_000, async (bench) => {
  const background = await backgroundLoad();
  const config = await bench.config(await bench.database());
  const collector = await bench.collector(config);
  const site = await seedSite(collector.app.database, AGENTS);

  // The spools: ids the agents made while the collector was away.
  const madeAt = Date.now() - 3_600_000;
  let sequence = 0;
  const spools = site.devices.map(() =>
    Array.from({ length: SPOOLED }, () => testUuidV7(madeAt, ++sequence)),
  );
  const dropFirst = site.devices.map((_, index) => index % DROP_EVERY === 0);

  const probe = bench.worker('healthz probe', {
    kind: 'probe',
    url: collector.url,
    path: '/healthz',
    intervalMs: PROBE_INTERVAL_MS,
  });
  const indexes = split(
    site.devices.map((_, index) => index),
    WORKERS,
  );
  const workers = indexes.map((part, number) =>
    bench.worker(`storm ${number + 1}`, {
      kind: 'storm',
      url: collector.url,
      siteId: site.siteId,
      devices: part.map((index) => site.devices[index] ?? { deviceId: '', credential: '' }),
      captureIds: part.map((index) => spools[index] ?? []),
      dropFirst: part.map((index) => dropFirst[index] ?? false),
      deadlineMs: STORM_DEADLINE_MS,
    }),
  );
  await Promise.all([probe, ...workers].map((worker) => worker.ready(60_000)));
  progress(`/healthz while quiet for ${QUIET_MS / 1000} s`);
  await sleep(QUIET_MS);
  progress(`storm: ${thousands(AGENTS)} agents at once`);
  // The collector's database pool (10 connections) is what every upgrade, hello, commit and
  // /healthz shares: sample how many queries wait for a connection.
  let poolWaitingMax = 0;
  const poolSampler = setInterval(() => {
    poolWaitingMax = Math.max(poolWaitingMax, collector.app.database.poolStats()?.waiting ?? 0);
  }, 50);
  const meter = new CpuMeter().start();
  const eventLoop = monitorEventLoopDelay({ resolution: 10 });
  eventLoop.enable();
  const overflowsBefore = listenOverflows();
  const goAt = Date.now();
  for (const worker of workers) worker.go();
  const results: StormResult[] = await Promise.all(
    workers.map((worker) => worker.result('storm', STORM_DEADLINE_MS + 60_000)),
  );
  const finished = ascending(results.flatMap((result) => [...result.finishedAt]));
  const failedAgents = results.reduce((sum, result) => sum + result.failedAgents, 0);
  // Agents still unacknowledged at the deadline keep their spool (they would go on trying).
  const drainedAt = failedAgents > 0 ? goAt + STORM_DEADLINE_MS : quantile(finished, 1);
  clearInterval(poolSampler);
  const cpu = meter.stop();
  eventLoop.disable();
  const overflowsAfter = listenOverflows();
  const overflows =
    overflowsBefore === undefined || overflowsAfter === undefined
      ? 'unknown'
      : thousands(overflowsAfter - overflowsBefore);
  await sleep(1_000);
  probe.stop();
  const health: ProbeResult = await probe.result('probe', 30_000);

  // Exactly once: ids are the primary key, so no capture is stored twice; every capture an
  // agent had acknowledged must be there, and nothing that no agent sent.
  const db = collector.app.database.db;
  const stored = new Set(
    ((await db.execute('SELECT id::text AS id FROM captures')).rows as { id: string }[]).map(
      (row) => row.id,
    ),
  );
  const expected = new Set(spools.flat());
  const unexpected = [...stored].filter((id) => !expected.has(id)).length;
  const acknowledged = indexes.flatMap((part, number) =>
    [...(results[number]?.finishedAgentIndexes ?? [])].flatMap(
      (index) => spools[part[index] ?? -1] ?? [],
    ),
  );
  const ackedMissing = acknowledged.filter((id) => !stored.has(id)).length;
  const [matches] = (await db.execute('SELECT count(*)::int AS n FROM capture_matches')).rows as {
    n: number;
  }[];
  const intact = unexpected === 0 && ackedMissing === 0 && matches?.n === stored.size;
  const allStored = intact && stored.size === expected.size;

  const retries: Record<string, number> = {};
  for (const result of results)
    for (const [reason, count] of Object.entries(result.retries))
      retries[reason] = (retries[reason] ?? 0) + count;
  const connectMs = ascending(results.flatMap((result) => [...result.connectMs]));
  const phase = (from: number, to: number) => {
    const latencies: number[] = [];
    let failures = 0;
    health.sentAt.forEach((at, index) => {
      if (at < from || at >= to) return;
      latencies.push(health.latencyMs[index] ?? 0);
      if (health.status[index] !== 200) failures += 1;
    });
    return { sorted: ascending(latencies), failures };
  };
  const quiet = phase(goAt - QUIET_MS, goAt);
  const storm = phase(goAt, drainedAt);
  const describe = ({ sorted, failures }: ReturnType<typeof phase>) =>
    `${quantile(sorted, 0.5).toFixed(1)} / ${quantile(sorted, 0.99).toFixed(1)} / ${quantile(sorted, 1).toFixed(0)} ms over ${sorted.length} requests, ${failures} not 200`;
  const drainS = (quantile(finished, 1) - goAt) / 1000;
  const stormP99 = quantile(storm.sorted, 0.99);
  printTable(
    `collector reconnect storm: ${thousands(AGENTS)} agents × ${SPOOLED} spooled captures, group commit, PostgreSQL`,
    [
      ['machine', background],
      [
        'load',
        `${WORKERS} generator processes; every agent connects at the same moment, hello, one frame of ${SPOOLED}; 1 in ${DROP_EVERY} drops its socket before the ack and resends all`,
      ],
      [
        'drain time (go → last ack)',
        failedAgents > 0
          ? `NOT drained: ${thousands(failedAgents)} agents still unacknowledged after ${STORM_DEADLINE_MS / 1000} s (the deadline)`
          : `${drainS.toFixed(1)} s, ${thousands(expected.size / drainS)} captures/s, ${thousands(AGENTS / drainS)} agents/s`,
      ],
      [
        'agents done at 50% / 90% / 99%',
        [0.5, 0.9, 0.99]
          .map((q) => {
            const at = finished[Math.floor(q * AGENTS)];
            return at === undefined ? 'not done' : `${((at - goAt) / 1000).toFixed(1)} s`;
          })
          .join(' / '),
      ],
      [
        'stored exactly once',
        `${thousands(stored.size)} rows of ${thousands(expected.size)} spooled ids, ${unexpected} not spooled, ${ackedMissing} acknowledged but missing, ${thousands(matches?.n ?? 0)} match rows (all stored once: ${verdict(allStored)})`,
      ],
      [
        'connect + hello → welcome p50 / p99 / max',
        `${quantile(connectMs, 0.5).toFixed(0)} / ${quantile(connectMs, 0.99).toFixed(0)} / ${quantile(connectMs, 1).toFixed(0)} ms over ${thousands(connectMs.length)} connections (${thousands(results.reduce((sum, result) => sum + result.connectAttempts, 0))} attempts)`,
      ],
      [
        'retries by cause',
        Object.entries(retries)
          .sort(([, a], [, b]) => b - a)
          .map(([reason, count]) => `${reason} ×${count}`)
          .join(', ') || 'none',
      ],
      [
        'CPU during the storm',
        describeCpu(
          cpu,
          results.reduce((sum, result) => sum + result.cpuMs, 0) / (Date.now() - goAt),
        ),
      ],
      [
        'collector side',
        `error frames sent: ${
          [...collector.app.ingestCounters.rejected.entries()]
            .map(([code, count]) => `${code} ×${count}`)
            .join(', ') || 'none'
        }; most queries waiting for a pool connection (10 in the pool): ${thousands(poolWaitingMax)}`,
      ],
      [
        'collector event loop delay p50 / p99 / max',
        `${(eventLoop.percentile(50) / 1e6).toFixed(0)} / ${(eventLoop.percentile(99) / 1e6).toFixed(0)} / ${(eventLoop.max / 1e6).toFixed(0)} ms`,
      ],
      [
        'connections refused, accept queue full',
        `${overflows} (kernel TcpExt ListenOverflows, whole machine; Node listens with a backlog of 511)`,
      ],
      [`/healthz every ${PROBE_INTERVAL_MS} ms, quiet: p50 / p99 / max`, describe(quiet)],
      [
        '/healthz during the storm: p50 / p99 / max',
        `${describe(storm)} (ratio p99 ${(stormP99 / Math.max(0.001, quantile(quiet.sorted, 0.99))).toFixed(0)}×; responsive: ${verdict(storm.failures === 0 && stormP99 < 1_000)}, p99 < 1 s and all 200)`,
      ],
    ],
  );
  if (!intact)
    throw new Error(
      `the storm broke exactly-once: ${unexpected} stored ids no agent sent, ${ackedMissing} acknowledged captures missing, ${matches?.n ?? 0} match rows for ${stored.size} captures`,
    );
});
