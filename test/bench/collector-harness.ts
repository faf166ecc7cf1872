// What the collector benchmarks share: a fresh PostgreSQL database, a collector in this
// process, a site and enrolled devices, load-generator processes, the table they print,
// and cleanup that runs whatever happens (with a deadline, so a benchmark never hangs).
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  loadConfig,
  openDatabase,
  startCollector,
  type CollectorConfig,
  type Database,
  type RunningCollector,
} from '@lantern/collector';
import { ENROL_PATH, EnrolResponseSchema } from '@lantern/protocol';
import { makeEnrolRequest } from '@lantern/protocol/testing';

import { REPO_ROOT } from '../helpers/process.ts';
import type {
  BenchDevice,
  FromWorker,
  LoadJob,
  LoadResult,
  ToWorker,
} from './collector-load-worker.ts';

/**
 * The PostgreSQL server to benchmark on; each benchmark makes its own database there and
 * drops it afterwards. The same variable as the collector's medium tests.
 */
const ADMIN_DATABASE_URL =
  process.env.LANTERN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const progress = (message: string) => process.stderr.write(`… ${message}\n`);

/** The value at quantile `q` of ascending `sorted` (0 when empty). */
export const quantile = (sorted: ArrayLike<number>, q: number): number =>
  sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);

export const ascending = (values: ArrayLike<number>): Float64Array =>
  Float64Array.from(values).sort();

/** `12345.6` → `12,346`. */
export const thousands = (value: number) => Math.round(value).toLocaleString('en-GB');

/** Print label/value rows aligned, as lexicon-matching.ts does, under a title. */
export function printTable(title: string, rows: readonly (readonly [string, string])[]): void {
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(
    [`\n${title}`, ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`)].join('\n'),
  );
}

/** `met` / `NOT met`, for the target column. */
export const verdict = (met: boolean) => (met ? 'met' : 'NOT met');

/** Reject with a message naming `what` unless `work` settles within `ms`. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** USER_HZ: /proc/[pid]/stat counts in 1/100 s on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

interface ProcessCpu {
  readonly name: string;
  readonly parent: number;
  readonly seconds: number;
}

/** CPU seconds used so far by every process (Linux /proc), by pid; empty elsewhere. */
function processesCpu(): Map<number, ProcessCpu> {
  const all = new Map<number, ProcessCpu>();
  if (!existsSync('/proc/self/stat')) return all;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid …": utime and stime are fields 14 and 15.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      all.set(Number(pid), {
        name: stat.slice(stat.indexOf('(') + 1, close),
        parent: Number(fields[1]),
        seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
      });
    } catch {
      // The process ended between the listing and the read: it no longer counts.
    }
  }
  return all;
}

/** A process's command line, shortened: `node …/tsc -p tsconfig.json` → `tsc -p tsconfig.json`. */
function commandOf(pid: number, name: string): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const script = args.find((arg, index) => index > 0 && !arg.startsWith('-')) ?? args[0] ?? name;
    const rest = args.slice(args.indexOf(script) + 1, args.indexOf(script) + 3);
    return [script.split('/').at(-1), ...rest].join(' ').slice(0, 40);
  } catch {
    return name;
  }
}

/** Busy and total seconds of all cores (Linux /proc/stat), or undefined elsewhere. */
function machineCpuSeconds(): { busy: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS_PER_SECOND, total: total / CLOCK_TICKS_PER_SECOND };
}

/** Where the machine's CPU went between start() and stop(), in cores (1 = one core busy). */
export interface CpuSplit {
  readonly cores: number;
  readonly busy: number | undefined;
  readonly collector: number;
  readonly postgres: number | undefined;
  /** The busiest processes that are neither this one, its children, nor PostgreSQL. */
  readonly others: readonly { command: string; cores: number }[];
}

/** Measures this process (the collector), PostgreSQL's processes, the rest, and the whole machine. */
export class CpuMeter {
  private startedAt = 0;
  private self = process.cpuUsage();
  private machine: ReturnType<typeof machineCpuSeconds>;
  private processes = new Map<number, ProcessCpu>();

  start(): this {
    this.startedAt = performance.now();
    this.self = process.cpuUsage();
    this.machine = machineCpuSeconds();
    this.processes = processesCpu();
    return this;
  }

  stop(): CpuSplit {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const self = process.cpuUsage(this.self);
    const machine = machineCpuSeconds();
    const processes = processesCpu();
    const used = (pid: number, now: ProcessCpu) =>
      (now.seconds - (this.processes.get(pid)?.seconds ?? 0)) / seconds;
    let postgres = 0;
    const others: { command: string; cores: number }[] = [];
    for (const [pid, now] of processes) {
      if (now.name === 'postgres') postgres += used(pid, now);
      else if (pid !== process.pid && now.parent !== process.pid && used(pid, now) >= 0.05)
        others.push({ command: commandOf(pid, now.name), cores: used(pid, now) });
    }
    const cores = availableParallelism();
    return {
      cores,
      busy:
        machine && this.machine
          ? ((machine.busy - this.machine.busy) / (machine.total - this.machine.total)) * cores
          : undefined,
      collector: (self.user + self.system) / 1e6 / seconds,
      postgres: processes.size > 0 ? postgres : undefined,
      others: others.sort((a, b) => b.cores - a.cores).slice(0, 3),
    };
  }
}

/** How busy the machine is before a benchmark starts (other work skews every figure). */
export async function backgroundLoad(ms = 2_000): Promise<string> {
  const meter = new CpuMeter().start();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const split = meter.stop();
  if (split.busy === undefined) return 'unknown (no /proc/stat)';
  const named = split.others.map(({ command, cores }) => `${command} ${cores.toFixed(2)}`);
  const figures = `${split.busy.toFixed(2)} of ${split.cores} cores busy over ${ms / 1000} s before the run (PostgreSQL ${split.postgres?.toFixed(2) ?? '?'}${named.length > 0 ? `, ${named.join(', ')}` : ''})`;
  return split.busy > 0.25
    ? `${figures}: WARNING, other work is running; these figures are not comparable`
    : figures;
}

/** `cores: collector 0.68, PostgreSQL 0.51, generator 0.04, anything else 0.70 (tsc -p tsconfig.json 0.65) (of 2)`. */
export function describeCpu(split: CpuSplit, generator: number): string {
  const fixed = (value: number | undefined) => (value === undefined ? '?' : value.toFixed(2));
  const other =
    split.busy === undefined
      ? undefined
      : Math.max(0, split.busy - split.collector - (split.postgres ?? 0) - generator);
  const named = split.others.map(({ command, cores }) => `${command} ${cores.toFixed(2)}`);
  return `cores: collector ${fixed(split.collector)}, PostgreSQL ${fixed(split.postgres)}, generator ${fixed(generator)}, anything else ${fixed(other)}${named.length > 0 ? ` (${named.join(', ')})` : ''} (of ${split.cores})`;
}

/**
 * Connections the kernel refused since boot because a listening socket's accept queue was
 * full (TcpExt ListenOverflows, Linux /proc/net/netstat), or undefined elsewhere. Machine-wide.
 */
export function listenOverflows(): number | undefined {
  if (!existsSync('/proc/net/netstat')) return undefined;
  const lines = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('TcpExt:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const at = names.indexOf('ListenOverflows');
  return at < 0 ? undefined : Number(values[at]);
}

/** Quote a value for SQL text (benchmarks build their queries from values they made). */
export const literal = (value: string | number) =>
  typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`;

// ── load-generator processes ─────────────────────────────────────────────────────────

/** A collector-load-worker.ts process running one job. */
export class LoadWorker {
  readonly name: string;
  private readonly child: ChildProcess;
  private readonly inbox: FromWorker[] = [];
  private readonly listeners = new Set<() => void>();
  private exit: string | undefined;

  constructor(name: string, job: LoadJob) {
    this.name = name;
    this.child = fork(join(import.meta.dirname, 'collector-load-worker.ts'), [], {
      execArgv: ['--conditions=@lantern/source', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Typed arrays of latencies travel as they are.
      serialization: 'advanced',
    });
    this.child.on('message', (message: FromWorker) => {
      this.inbox.push(message);
      for (const listener of this.listeners) listener();
    });
    this.child.on('exit', (code, signal) => {
      this.exit = `exited (${signal ?? code ?? 'unknown'})`;
      for (const listener of this.listeners) listener();
    });
    this.post({ kind: 'job', job });
  }

  private post(message: ToWorker): void {
    if (this.child.connected) this.child.send(message);
  }

  /** The next message of `kind`; rejects if the worker fails, exits, or `timeoutMs` passes. */
  private next<K extends FromWorker['kind']>(
    kind: K,
    timeoutMs: number,
  ): Promise<Extract<FromWorker, { kind: K }>> {
    return within(
      timeoutMs,
      `load worker "${this.name}" to send ${kind}`,
      new Promise((resolve, reject) => {
        const check = () => {
          const index = this.inbox.findIndex(
            (message) => message.kind === kind || message.kind === 'failed',
          );
          const message = this.inbox[index];
          if (message) {
            this.inbox.splice(index, 1);
            this.listeners.delete(check);
            if (message.kind === 'failed')
              reject(new Error(`load worker "${this.name}" failed: ${message.message}`));
            else resolve(message as Extract<FromWorker, { kind: K }>);
          } else if (this.exit) {
            this.listeners.delete(check);
            reject(new Error(`load worker "${this.name}" ${this.exit} before sending ${kind}`));
          }
        };
        this.listeners.add(check);
        check();
      }),
    );
  }

  /** Resolves when the worker has prepared (and for some jobs connected) its agents. */
  async ready(timeoutMs: number): Promise<number> {
    return (await this.next('ready', timeoutMs)).connected;
  }

  go(): void {
    this.post({ kind: 'go' });
  }

  stop(): void {
    this.post({ kind: 'stop' });
  }

  async result<K extends LoadResult['kind']>(
    kind: K,
    timeoutMs: number,
  ): Promise<Extract<LoadResult, { kind: K }>> {
    const { result } = await this.next('result', timeoutMs);
    if (result.kind !== kind)
      throw new Error(`load worker "${this.name}" sent a ${result.kind} result, not ${kind}`);
    return result as Extract<LoadResult, { kind: K }>;
  }

  /** Stop the process if it still runs (cleanup after a failure). */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

// ── one benchmark run ────────────────────────────────────────────────────────────────

/** A site with devices enrolled through POST /v1/enrol, as agents do. */
export interface BenchSite {
  readonly siteId: string;
  readonly devices: BenchDevice[];
}

/** What a benchmark body gets: resources it asks for are cleaned up when it ends. */
export class Bench {
  private readonly cleanups: { what: string; run: () => Promise<void> }[] = [];

  /** Run `cleanup` when the benchmark ends, the last registered first. */
  defer(what: string, cleanup: () => Promise<void>): void {
    this.cleanups.push({ what, run: cleanup });
  }

  async cleanup(): Promise<void> {
    for (const { what, run } of this.cleanups.reverse()) {
      try {
        await within(60_000, `cleanup: ${what}`, run());
      } catch (error) {
        console.error(`cleanup failed (${what}):`, error);
        process.exitCode = 1;
      }
    }
  }

  /** A new, empty PostgreSQL database on ADMIN_DATABASE_URL's server, dropped at the end. */
  async database(): Promise<string> {
    const name = `lantern_bench_${randomBytes(6).toString('hex')}`;
    const admin = await openDatabase({ kind: 'postgres', url: ADMIN_DATABASE_URL });
    try {
      await admin.db.execute(`CREATE DATABASE ${name}`);
    } finally {
      await admin.close();
    }
    this.defer(`drop database ${name}`, async () => {
      const cleaner = await openDatabase({ kind: 'postgres', url: ADMIN_DATABASE_URL });
      try {
        await cleaner.db.execute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleaner.close();
      }
    });
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** A temporary folder, removed at the end. */
  async tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'lantern-bench-collector-'));
    this.defer(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** The collector's configuration for a database, as the CLI would load it. */
  async config(databaseUrl: string): Promise<CollectorConfig> {
    return loadConfig({
      LANTERN_HOST: '127.0.0.1',
      LANTERN_PORT: '0',
      LANTERN_DATA_DIR: await this.tempDir(),
      DATABASE_URL: databaseUrl,
      LANTERN_LOG_LEVEL: 'silent',
    });
  }

  /** Start a collector in this process; closed at the end unless closed before. */
  async collector(
    config: CollectorConfig,
    options: Parameters<typeof startCollector>[1] = {},
  ): Promise<RunningCollector> {
    const running = await startCollector(config, options);
    this.defer('close the collector', () => running.close());
    return running;
  }

  /** Open the database directly (seeding, counting); closed at the end. */
  async open(url: string): Promise<Database> {
    const database = await openDatabase({ kind: 'postgres', url });
    this.defer('close a database pool', () => database.close());
    return database;
  }

  /** Start a load-generator process; killed at the end if it still runs. */
  worker(name: string, job: LoadJob): LoadWorker {
    const worker = new LoadWorker(name, job);
    this.defer(`stop load worker ${name}`, () => worker.kill());
    return worker;
  }
}

/**
 * Run one benchmark: `body` within `limitMs` (else it fails loudly), then every cleanup.
 * Exits the process (a stray socket or timer must not keep a finished benchmark alive).
 */
export async function runBench(
  title: string,
  limitMs: number,
  body: (bench: Bench) => Promise<void>,
): Promise<never> {
  const bench = new Bench();
  const startedAt = Date.now();
  try {
    await within(limitMs, `${title} (the whole benchmark)`, body(bench));
  } catch (error) {
    console.error(`\n${title} FAILED:`, error);
    process.exitCode = 1;
  }
  progress('cleaning up');
  await bench.cleanup();
  progress(`${title}: ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  process.exit();
}

// ── a site and its devices ───────────────────────────────────────────────────────────

/** Run the collector's CLI (from source) against a database; its last line of output. */
function collectorCli(args: readonly string[], databaseUrl: string, dataDir: string): string {
  const run = spawnSync(
    process.execPath,
    [
      '--conditions=@lantern/source',
      '--import',
      'tsx',
      join(REPO_ROOT, 'apps/collector/src/cli.ts'),
      ...args,
    ],
    {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        LANTERN_DATA_DIR: dataDir,
        LANTERN_LOG_LEVEL: 'warn',
      },
    },
  );
  if (run.status !== 0)
    throw new Error(
      `lantern-collector ${args[0] ?? ''} failed (${run.status ?? run.signal}): ${run.stderr}`,
    );
  const last = run.stdout.trim().split('\n').at(-1);
  if (!last) throw new Error(`lantern-collector ${args[0] ?? ''} printed nothing`);
  return last.trim();
}

/**
 * A site made with `lantern-collector create-site` and `count` devices enrolled with a token
 * from `enrol-token`, each through POST /v1/enrol as an agent does (`concurrency` at a time).
 */
export async function enrolSite(
  collector: RunningCollector,
  config: CollectorConfig,
  count: number,
  concurrency = 8,
): Promise<BenchSite> {
  if (config.database.kind !== 'postgres') throw new Error('the benchmarks run on PostgreSQL');
  const { dataDir } = config;
  const databaseUrl = config.database.url;
  const siteId = collectorCli(['create-site', '--name', 'Benchmark Academy'], databaseUrl, dataDir);
  const token = collectorCli(
    ['enrol-token', '--site', siteId, '--uses', String(count), '--label', 'benchmark'],
    databaseUrl,
    dataDir,
  );
  const devices: BenchDevice[] = new Array<BenchDevice>(count);
  let next = 0;
  const startedAt = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        const response = await fetch(`${collector.url}${ENROL_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(
            makeEnrolRequest({ enrolmentToken: token, hostname: `BENCH-PC${index}` }),
          ),
          signal: AbortSignal.timeout(30_000),
        });
        if (response.status !== 201)
          throw new Error(
            `enrolment ${index} answered ${response.status}: ${await response.text()}`,
          );
        const enrolled = EnrolResponseSchema.parse(await response.json());
        devices[index] = { deviceId: enrolled.deviceId, credential: enrolled.deviceCredential };
        if ((index + 1) % 2_000 === 0) progress(`enrolled ${index + 1} of ${count} devices`);
      }
    }),
  );
  progress(`enrolled ${count} devices in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  return { siteId, devices };
}

/**
 * A site and `count` devices written straight into the database, for the benchmarks that
 * need thousands (POST /v1/enrol takes one token-row lock and one commit per device: minutes
 * for 10,000). A device's credential is stored as its SHA-256 in hex, as enrolment does
 * (hashSecret in enrolment.service.ts); if that changes, every connection is refused with
 * 401 and the benchmark fails saying so.
 */
export async function seedSite(database: Database, count: number): Promise<BenchSite> {
  const rows = async (text: string) => (await database.db.execute(text)).rows;
  const [organisation] = await rows(
    `INSERT INTO organisations (name) VALUES ('Benchmark Trust') RETURNING id`,
  );
  const [site] = await rows(
    `INSERT INTO sites (organisation_id, name) VALUES (${literal(String(organisation?.['id']))}, 'Benchmark Academy') RETURNING id`,
  );
  const siteId = String(site?.['id']);
  const credentials = Array.from(
    { length: count },
    () => `lntdev_${randomBytes(32).toString('base64url')}`,
  );
  const hashOf = new Map(
    credentials.map((credential) => [
      createHash('sha256').update(credential).digest('hex'),
      credential,
    ]),
  );
  const inserted = await rows(`
    INSERT INTO devices (site_id, hostname, platform, os_release, arch, agent_version, credential_hash)
    SELECT ${literal(siteId)}, 'BENCH-PC' || n, 'windows', '10.0.22631', 'x64', '0.1.0', hash
    FROM unnest(ARRAY[${[...hashOf.keys()].map(literal).join(',')}]::text[]) WITH ORDINALITY AS t(hash, n)
    ORDER BY n
    RETURNING id, credential_hash`);
  return {
    siteId,
    devices: inserted.map((row) => ({
      deviceId: String(row['id']),
      credential: hashOf.get(String(row['credential_hash'])) ?? '',
    })),
  };
}

/** Split `items` into `parts` runs of nearly equal length. */
export function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: parts }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  ).filter((part) => part.length > 0);
}
