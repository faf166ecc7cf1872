// Idle connections benchmark: 10,000 agents connected and greeted, doing nothing, on one
// collector process; the memory each costs, beside the same connections on a bare `ws`
// server (the floor: what Node and ws cost before Lantern adds anything).
// Run: pnpm bench:collector idle-connections (needs node --expose-gc; the script sets it).
import { fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { FromBareServer, ToBareServer } from './collector-bare-ws-server.ts';
import {
  backgroundLoad,
  printTable,
  progress,
  runBench,
  seedSite,
  split,
  thousands,
  verdict,
  within,
  type Bench,
  type BenchSite,
} from './collector-harness.ts';

const CONNECTIONS = 10_000;
/** Load-generator processes the connections are spread over. */
const WORKERS = 2;
/** Connections each generator opens at a time: a rollout, not a storm. */
const CONCURRENCY = 100;
const WARM_UP_CONNECTIONS = 200;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with node --expose-gc (pnpm bench does).');

/**
 * This process's memory after full collections. V8 hands pages back to the system lazily,
 * so RSS moves by megabytes from one reading to the next: take the median of five.
 */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let round = 0; round < 3; round += 1) {
    gc?.();
    await sleep(100);
  }
  const readings: NodeJS.MemoryUsage[] = [];
  for (let reading = 0; reading < 5; reading += 1) {
    readings.push(process.memoryUsage());
    await sleep(200);
  }
  const rss = readings.map((usage) => usage.rss).sort((a, b) => a - b)[2] ?? 0;
  return { ...(readings.at(-1) ?? process.memoryUsage()), rss };
}

/** Every file descriptor is a socket here: the collector's side and the generators' each need CONNECTIONS. */
function openFileLimit(): number {
  const shell = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const limit = shell.stdout.trim();
  return limit === 'unlimited' ? Infinity : Number(limit);
}

/** Connect `devices` through WORKERS generators and hold them idle; returns a function that disconnects them. */
async function holdIdle(
  bench: Bench,
  name: string,
  url: string,
  devices: BenchSite['devices'],
): Promise<() => Promise<void>> {
  const workers = split(devices, WORKERS).map((part, index) =>
    bench.worker(`${name} ${index + 1}`, {
      kind: 'idle',
      url,
      devices: part,
      concurrency: CONCURRENCY,
    }),
  );
  const connected = await Promise.all(workers.map((worker) => worker.ready(180_000)));
  const total = connected.reduce((sum, count) => sum + count, 0);
  if (total !== devices.length) throw new Error(`${name}: ${total} of ${devices.length} connected`);
  return async () => {
    for (const worker of workers) worker.stop();
    const results = await Promise.all(workers.map((worker) => worker.result('idle', 60_000)));
    const dropped = results.reduce((sum, result) => sum + result.closedWhileIdle, 0);
    if (dropped > 0)
      throw new Error(`${name}: ${dropped} idle connections were closed by the server`);
  };
}

await runBench('collector idle connections', 300_000, async (bench) => {
  const background = await backgroundLoad();
  const limit = openFileLimit();
  if (limit < CONNECTIONS + 1_000)
    throw new Error(
      `ulimit -n is ${limit}: ${CONNECTIONS} connections need more file descriptors. Raise it (ulimit -n 65536, as root or within the hard limit) and run again.`,
    );
  const config = await bench.config(await bench.database());
  const collector = await bench.collector(config);
  const site = await seedSite(collector.app.database, CONNECTIONS + WARM_UP_CONNECTIONS);
  const devices = site.devices.slice(0, CONNECTIONS);

  // Warm up: connections that come and go, so code is compiled and pools are grown before
  // the baseline; what is left is what holding connections costs.
  progress(`warm-up: ${WARM_UP_CONNECTIONS} connections`);
  await (
    await holdIdle(bench, 'warm-up', collector.url, site.devices.slice(CONNECTIONS))
  )();
  await within(
    30_000,
    'warm-up connections to close',
    (async () => {
      while (collector.app.agents.size > 0) await sleep(50);
    })(),
  );
  const before = await settledMemory();

  progress(`${thousands(CONNECTIONS)} idle agents on the collector`);
  const connectStarted = Date.now();
  const release = await holdIdle(bench, 'idle', collector.url, devices);
  const connectS = (Date.now() - connectStarted) / 1000;
  if (collector.app.agents.size !== CONNECTIONS)
    throw new Error(`the collector counts ${collector.app.agents.size} agents, not ${CONNECTIONS}`);
  const after = await settledMemory();
  const health = await fetch(`${collector.url}/healthz`);
  await release();

  // The floor: the same clients on a bare ws server in its own process.
  progress(`${thousands(CONNECTIONS)} idle clients on a bare ws server`);
  const bare = fork(join(import.meta.dirname, 'collector-bare-ws-server.ts'), [], {
    execArgv: ['--expose-gc', '--conditions=@lantern/source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  bench.defer('stop the bare ws server', async () => {
    if (bare.exitCode === null && bare.signalCode === null) {
      bare.kill('SIGKILL');
      await once(bare, 'exit');
    }
  });
  const ask = async (message: ToBareServer | undefined, kind: FromBareServer['kind']) => {
    const answer = within(30_000, `the bare ws server to send ${kind}`, once(bare, 'message'));
    if (message) bare.send(message);
    const [reply] = (await answer) as [FromBareServer];
    if (reply.kind !== kind) throw new Error(`the bare ws server sent ${reply.kind}, not ${kind}`);
    return reply;
  };
  const listening = await ask(undefined, 'listening');
  if (listening.kind !== 'listening') throw new Error('unreachable');
  await (
    await holdIdle(bench, 'bare warm-up', listening.url, site.devices.slice(CONNECTIONS))
  )();
  await sleep(500);
  const bareBefore = await ask({ kind: 'measure' }, 'memory');
  const releaseBare = await holdIdle(bench, 'bare', listening.url, devices);
  const bareAfter = await ask({ kind: 'measure' }, 'memory');
  await releaseBare();
  if (bareBefore.kind !== 'memory' || bareAfter.kind !== 'memory') throw new Error('unreachable');
  if (bareAfter.connections !== CONNECTIONS)
    throw new Error(
      `the bare server holds ${bareAfter.connections} connections, not ${CONNECTIONS}`,
    );

  const kb = (bytes: number) => `${(bytes / CONNECTIONS / 1024).toFixed(1)} KB`;
  const per = (a: NodeJS.MemoryUsage, b: NodeJS.MemoryUsage) => ({
    rss: b.rss - a.rss,
    heap: b.heapUsed - a.heapUsed,
    external: b.external - a.external,
  });
  const ours = per(before, after);
  const floor = per(bareBefore.usage, bareAfter.usage);
  printTable(
    `collector idle connections: ${thousands(CONNECTIONS)} greeted agents on one collector process`,
    [
      ['machine', background],
      [
        'load',
        `${WORKERS} generator processes, ${CONCURRENCY} connecting at a time each; connected and greeted in ${connectS.toFixed(1)} s; open-file limit ${limit}`,
      ],
      [
        'collector: RSS / heap / external per connection',
        `${kb(ours.rss)} / ${kb(ours.heap)} / ${kb(ours.external)}  (target < 20 KB: RSS ${verdict(ours.rss / CONNECTIONS < 20 * 1024)}, heap + external ${verdict((ours.heap + ours.external) / CONNECTIONS < 20 * 1024)}; RSS is the noisier figure)`,
      ],
      [
        'collector: totals before → after (after gc)',
        `RSS ${(before.rss / 2 ** 20).toFixed(0)} → ${(after.rss / 2 ** 20).toFixed(0)} MB, heap ${(before.heapUsed / 2 ** 20).toFixed(0)} → ${(after.heapUsed / 2 ** 20).toFixed(0)} MB`,
      ],
      [
        'bare ws server: RSS / heap / external per connection',
        `${kb(floor.rss)} / ${kb(floor.heap)} / ${kb(floor.external)}`,
      ],
      [
        'ratio collector / bare ws',
        `RSS ${(ours.rss / floor.rss).toFixed(1)}×, heap ${(ours.heap / floor.heap).toFixed(1)}×`,
      ],
      ['/healthz with all connected', `${health.status}`],
    ],
  );
});
