/**
 * What the headless agent costs on a real X display (issue #6): idle CPU, resident memory,
 * and the time from a key event to the detector's decision, each beside an idle `node`
 * process measured in the same run.
 *
 * Xvfb with openbox and a focused window, the built collector on embedded PGlite, and the
 * built `lantern-agent`, enrolled and online, as in test/e2e/agent-x11.test.ts, run as the
 * installed command runs: with the node flags on its `#!` line.
 *
 * Idle: the agent enrols on its first start (once in a device's life), is stopped, and is
 * started again as a pupil's laptop starts it every day; then, 40 s after it is online, CPU
 * (utime + stime in /proc/<pid>/stat, all threads) and VmRSS over IDLE_MS, for the agent
 * and for `node -e "setInterval(() => {}, 1e9)"` started beside it. Reported for the agent
 * process alone and with its child processes (`xprop -spy` for the active window, and the
 * `xclip` the clipboard source starts when the clipboard changes hands and once a minute:
 * their CPU reaches the agent's cutime/cstime when they are reaped). The 40 s are past the
 * start's one-off work: about 10 s after start V8, optimised for size by
 * bin/lantern-agent.js, shrinks the heap that loading the lexicon grew (one full
 * collection). The first start's resident memory is reported too: enrolling uses `fetch`,
 * whose HTTP parser is WebAssembly, compiled once and kept.
 *
 * Key event → detector decision, measured inside the built agent without changing it: the
 * agent is restarted (same data folder) with a small preload (`--import`, written to the
 * temporary folder by this script) that wraps uiohook-napi's JavaScript callback, the
 * function its native hook thread calls on the main thread for every input event. For each
 * key press it records
 *  - the callback's time from entry to return (process.hrtime): uiohook's dispatch, the
 *    typing source's key translation, `Detector.edit` (the lexicon's MatchStream) and
 *    whatever a decision starts synchronously (a finding's first steps towards a capture).
 *    All of it runs synchronously inside that callback, so this is the agent's own cost of
 *    a key, the figure the 1 ms target is judged on;
 *  - the time from the X server's timestamp on the event (`event.time`, server milliseconds,
 *    CLOCK_MONOTONIC on Linux, the clock hrtime reads) to the callback's return: delivery
 *    through the X RECORD extension, the hook thread and the agent's event loop, plus the
 *    above. The timestamp is whole milliseconds, so this is an upper bound, up to 1 ms high.
 * The baseline is a bare `node` with the same preload and a no-op listener on the same hook:
 * it sees the same key presses at the same moment, so the difference is the agent's.
 * `xdotool type` sends TYPED_CHARS characters of synthetic text (the lexicon's evaluation
 * set: mostly benign lines, some concerning ones, typos corrected with Backspace, Enter
 * after each line). About 15 % of the lines are concerning, far more than a pupil types:
 * the Enter that ends one starts a capture inside the callback (10–20 ms here), and with
 * ~0.5 % of key presses like that, the share decides whether they reach the p99; the rows
 * for Enter and for the other keys show both. The preload also makes the agent a little
 * bigger, so the memory and CPU figures while typing are for the agent with the preload.
 *
 * Run: pnpm --filter @lantern/test bench:agent (after `pnpm build`). About 2 minutes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

import {
  XServer,
  waitFor,
  type TestWindow,
} from '../../packages/agent-core/src/test-helpers/x11.ts';
import {
  collectorEnv,
  createEnrolmentToken,
  createSite,
  startCollector,
} from '../helpers/collector.ts';
import { REPO_ROOT, startNode, type RunningProcess } from '../helpers/process.ts';

const IDLE_MS = Number(process.env.LANTERN_BENCH_IDLE_MS ?? 30_000);
/** See the header: past the collection that shrinks the heap after start. */
const SETTLE_MS = 40_000;
const TYPED_CHARS = 3_000;
const TYPING_DELAY_MS = 12;
/** The whole run; every wait below has its own deadline too. */
const RUN_LIMIT_MS = 5 * 60_000;
const TARGET_IDLE_CPU_PCT = 1;
const TARGET_RSS_MB = 80;
const TARGET_KEY_P99_US = 1_000;

const progress = (message: string) => process.stderr.write(`… ${message}\n`);

// ── built programs ────────────────────────────────────────────────────────────────────
const AGENT_BIN = join(REPO_ROOT, 'packages/agent-core/bin/lantern-agent.js');
const AGENT_DIST = join(REPO_ROOT, 'packages/agent-core/dist/cli.js');
const COLLECTOR_DIST = join(REPO_ROOT, 'apps/collector/dist/cli.js');
/**
 * The node flags on the bin's `#!/usr/bin/env -S node …` line: the agent is run as the
 * installed `lantern-agent` command runs, which `node bin/lantern-agent.js` would not be.
 */
const AGENT_NODE_FLAGS = (() => {
  const line = readFileSync(AGENT_BIN, 'utf8').split('\n')[0] ?? '';
  const flags = /^#!\/usr\/bin\/env(?: -S)? node((?: --\S+)*)\s*$/.exec(line)?.[1];
  if (flags === undefined) throw new Error(`${AGENT_BIN} does not start with a node #! line`);
  return flags.split(' ').filter(Boolean);
})();
for (const built of [AGENT_DIST, COLLECTOR_DIST]) {
  if (!existsSync(built)) {
    console.error(
      `${built.slice(REPO_ROOT.length + 1)} is missing: this benchmark runs the built agent and collector. Run \`pnpm build\` at the repository root first.`,
    );
    process.exit(1);
  }
}
{
  // A stale build measures old code: say so (not fatal, the figures are still real).
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
        .map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs),
    );
  if (newest(join(REPO_ROOT, 'packages/agent-core/src')) > statSync(AGENT_DIST).mtimeMs) {
    progress('warning: packages/agent-core/src is newer than its dist: run `pnpm build`');
  }
}

// ── /proc ─────────────────────────────────────────────────────────────────────────────
const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    // No getconf: Linux has used 100 ticks per second on every common architecture.
    return 100;
  }
})();

interface ProcStat {
  readonly ppid: number;
  /** utime + stime of all the process's threads, in clock ticks. */
  readonly ticks: number;
  /** cutime + cstime: children that exited and were waited for. */
  readonly reapedTicks: number;
  /** With the pid, identifies the process even if the pid is reused. */
  readonly startTicks: number;
}

function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // The process has exited (children come and go between listing and reading).
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (number: number) => Number(fields[number - 3]);
  return {
    ppid: field(4),
    ticks: field(14) + field(15),
    reapedTicks: field(16) + field(17),
    startTicks: field(22),
  };
}

function residentMb(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? 0 : Number(kb) / 1024;
  } catch {
    // Exited meanwhile: holds no memory.
    return 0;
  }
}

/** VmRSS as private memory (RssAnon) and file-backed pages (RssFile: the node binary and libraries, shared with other processes and reclaimable). */
function residentSplitMb(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
}

function peakResidentMb(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

interface TreeCpu {
  readonly self: ProcStat;
  /** Live descendants' ticks, by `pid:startTicks`. */
  readonly children: Map<string, number>;
}

function treeCpu(pid: number): TreeCpu {
  const self = readProcStat(pid);
  if (!self) throw new Error(`process ${pid} exited during the measurement`);
  const children = new Map<string, number>();
  for (const child of descendants(pid)) {
    const stat = readProcStat(child);
    if (stat) children.set(`${child}:${stat.startTicks}`, stat.ticks);
  }
  return { self, children };
}

/** Busy and total ticks of all cores, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  // idle and iowait
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

interface WindowFigures {
  /** % of one core. */
  readonly cpuPct: number;
  /** % of one core, with the process's children (live and reaped). */
  readonly treeCpuPct: number;
  readonly rssMaxMb: number;
  /** The process and its live children, the largest sum seen. */
  readonly treeRssMaxMb: number;
}

/**
 * Samples the named processes until `stop()`: CPU from the first sample to the last, RSS
 * every second. Also how busy the whole machine was, in cores.
 */
function startWindow(processes: Record<string, number>) {
  const started = process.hrtime.bigint();
  const machineBefore = machineTicks();
  const before = new Map(Object.entries(processes).map(([name, pid]) => [name, treeCpu(pid)]));
  const rss = new Map(Object.keys(processes).map((name) => [name, { self: 0, tree: 0 }]));
  const sample = () => {
    for (const [name, pid] of Object.entries(processes)) {
      const self = residentMb(pid);
      const tree = descendants(pid).reduce((sum, child) => sum + residentMb(child), self);
      const max = rss.get(name);
      if (max) rss.set(name, { self: Math.max(max.self, self), tree: Math.max(max.tree, tree) });
    }
  };
  sample();
  const timer = setInterval(sample, 1_000);
  return {
    stop(): { seconds: number; machineCores: number; figures: Map<string, WindowFigures> } {
      clearInterval(timer);
      sample();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const machineAfter = machineTicks();
      const machineCores =
        ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) *
        cpus().length;
      const figures = new Map<string, WindowFigures>();
      for (const [name, pid] of Object.entries(processes)) {
        const first = before.get(name);
        if (!first) continue;
        const last = treeCpu(pid);
        const selfTicks = last.self.ticks - first.self.ticks;
        let childTicks = last.self.reapedTicks - first.self.reapedTicks;
        for (const [key, ticks] of last.children)
          childTicks += ticks - (first.children.get(key) ?? 0);
        const pct = (ticks: number) => (ticks / CLOCK_TICKS_PER_SECOND / seconds) * 100;
        const max = rss.get(name) ?? { self: 0, tree: 0 };
        figures.set(name, {
          cpuPct: pct(selfTicks),
          treeCpuPct: pct(selfTicks + childTicks),
          rssMaxMb: max.self,
          treeRssMaxMb: max.tree,
        });
      }
      return { seconds, machineCores, figures };
    },
  };
}

// ── the timing preload ────────────────────────────────────────────────────────────────
// Plain JavaScript, loaded with --import into the built agent (which runs without tsx).
// It loads uiohook-napi from agent-core's own dependencies, so the agent's later
// `import('uiohook-napi')` gets the same module (and the same hook object) from Node's
// cache; it wraps the hook's `handler` before anything starts the hook. Loading the addon
// before the agent's RECORD check is safe here: this X server has RECORD.
const PRELOAD = `
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { uIOhook } = createRequire(process.env.LANTERN_BENCH_AGENT_CORE)('uiohook-napi');
const KEY_PRESSED = 4;
const CAPACITY = 100000;
const WRAP_NS = 2n ** 32n * 1000000n;
const handledNs = new Float64Array(CAPACITY);
const sinceServerMs = new Float64Array(CAPACITY);
const keycodes = new Uint16Array(CAPACITY);
let count = 0;
const handler = uIOhook.handler;
uIOhook.handler = function timedHandler(event) {
  const started = process.hrtime.bigint();
  try {
    return handler.call(this, event);
  } finally {
    const ended = process.hrtime.bigint();
    if (event.type === KEY_PRESSED && count < CAPACITY) {
      handledNs[count] = Number(ended - started);
      // The X server's time is milliseconds of CLOCK_MONOTONIC in 32 bits.
      let since = Number(ended % WRAP_NS) / 1e6 - event.time;
      if (since < -(2 ** 31)) since += 2 ** 32;
      sinceServerMs[count] = since;
      keycodes[count] = event.keycode;
      count += 1;
    }
  }
};
process.on('SIGUSR2', () => {
  const file = process.env.LANTERN_BENCH_TIMINGS_FILE;
  writeFileSync(file + '.tmp', JSON.stringify({
    count,
    handledNs: Array.from(handledNs.subarray(0, count)),
    sinceServerMs: Array.from(sinceServerMs.subarray(0, count)),
    keycodes: Array.from(keycodes.subarray(0, count)),
    memory: process.memoryUsage(),
  }));
  renameSync(file + '.tmp', file);
});
if (process.env.LANTERN_BENCH_NOOP_HOOK === '1') {
  // The baseline: the same listeners as the typing source's, doing nothing.
  const noop = () => {};
  uIOhook.on('keydown', noop);
  uIOhook.on('keyup', noop);
  uIOhook.on('mousedown', noop);
  uIOhook.start();
}
process.stderr.write('timing preload ready\\n');
`;

interface Timings {
  readonly count: number;
  readonly handledNs: number[];
  readonly sinceServerMs: number[];
  readonly keycodes: number[];
  readonly memory: NodeJS.MemoryUsage;
}

async function readTimings(pid: number, file: string): Promise<Timings> {
  await rm(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  await waitFor(`process ${pid} writes its key timings`, () => existsSync(file), {
    timeoutMs: 10_000,
  });
  return JSON.parse(await readFile(file, 'utf8')) as Timings;
}

// ── cleanup: everything started here is stopped by its own handle, newest first ─────────
const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
async function cleanUp(): Promise<void> {
  for (const { what, run } of cleanups.splice(0).reverse()) {
    try {
      await run();
    } catch (error) {
      progress(`cleanup of ${what} failed: ${(error as Error).message}`);
    }
  }
}
/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
function started(what: string, running: RunningProcess): RunningProcess {
  cleanups.push({ what, run: () => stopProcess(running.child) });
  return running;
}
function pidOf(running: RunningProcess): number {
  const { pid } = running.child;
  if (pid === undefined) throw new Error(`could not start a process:\n${running.output()}`);
  return pid;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping everything this benchmark started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

// ── the typed text ────────────────────────────────────────────────────────────────────
/** A small deterministic PRNG (mulberry32), so every run types the same text. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function typedText(): { text: string; lines: number; concerning: number } {
  const evalDir = join(REPO_ROOT, 'packages/lexicon/eval');
  // English, typed, printable ASCII: xdotool types anything else by remapping a spare key,
  // which the keyboard hook would see as an unknown key.
  const material = ['dev-personal.jsonl', 'dev-world.jsonl']
    .flatMap((name) => readFileSync(join(evalDir, name), 'utf8').split('\n'))
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { text: string; label: string; source: string })
    .filter((item) => item.source === 'typed' && /^[ -~]+$/.test(item.text));
  const benign = material.filter((item) => item.label === 'benign').map((item) => item.text);
  const concern = material.filter((item) => item.label === 'concern').map((item) => item.text);
  const next = random(6);
  const pick = (list: readonly string[]) => list[Math.floor(next() * list.length)] ?? '';
  let text = '';
  let lines = 0;
  let concerning = 0;
  while (text.length < TYPED_CHARS) {
    const isConcern = next() < 0.15;
    let line = isConcern ? pick(concern) : pick(benign);
    if (next() < 0.3) {
      // A typo, corrected: one wrong letter, then Backspace (\b types BackSpace).
      const at = Math.floor(next() * line.length);
      line = `${line.slice(0, at)}x\b${line.slice(at)}`;
    }
    text += `${line}\r`; // \r types Return (\n would be typed through a remapped key)
    lines += 1;
    if (isConcern) concerning += 1;
  }
  return { text, lines, concerning };
}

/**
 * A window to type into. openbox now and then leaves the first window mapped after it
 * starts unmanaged (never in _NET_CLIENT_LIST; about 1 run in 10 here, in the e2e tests'
 * helper too); another window is then managed at once.
 */
async function openWindow(x: XServer): Promise<TestWindow> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await x.openWindow(`Untitled - Notes${attempt > 1 ? ` (${attempt})` : ''}`);
    } catch (error) {
      if (attempt === 3) throw error;
      progress(
        `openbox did not manage the window (${(error as Error).message.split('\n')[0]}); another one`,
      );
    }
  }
}

// ── figures ───────────────────────────────────────────────────────────────────────────
const quantile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const sortedOf = (values: number[]) => Float64Array.from(values).sort();

async function main(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'lantern-bench-agent-'));
  cleanups.push({ what: root, run: () => rm(root, { recursive: true, force: true }) });
  const collectorDir = join(root, 'collector');
  const agentDir = join(root, 'agent');
  await mkdir(collectorDir);
  const preload = join(root, 'timing-preload.mjs');
  await writeFile(preload, PRELOAD);

  progress('starting Xvfb and openbox');
  const x = await XServer.start();
  cleanups.push({ what: 'the X server', run: () => x.close() });
  const window = await openWindow(x);
  await x.activate(window);

  progress('starting the collector (embedded PGlite)');
  const env = collectorEnv({ databaseUrl: '', dataDir: collectorDir });
  const siteId = await createSite(env, 'Example Academy');
  const token = await createEnrolmentToken(env, siteId, 1);
  const collector = await startCollector(env);
  started('the collector', collector.process);

  const agentEnv = {
    PATH: process.env.PATH,
    DISPLAY: x.display,
    LC_ALL: 'C.UTF-8',
    HOME: agentDir,
  };
  const startAgent = async (extraEnv: NodeJS.ProcessEnv, args: string[]) => {
    const agent = started(
      'the agent',
      // startNode runs `node <script> <args>`: here the "script" is the first flag, if any.
      startNode(
        AGENT_NODE_FLAGS[0] ?? AGENT_BIN,
        [
          ...AGENT_NODE_FLAGS.slice(1),
          ...(AGENT_NODE_FLAGS.length > 0 ? [AGENT_BIN] : []),
          '--data-dir',
          agentDir,
          '--layout',
          'us',
          ...args,
        ],
        { ...agentEnv, ...extraEnv },
      ),
    );
    await agent.waitFor(/Lantern agent \S+ is running/);
    await agent.waitFor(/LINK_STATE: online/);
    return agent;
  };

  // ── idle ──
  progress('starting the agent (enrolling), then again as every day');
  const enrolling = await startAgent({}, ['--collector', collector.url, '--enrol-token', token]);
  const firstStartMb = residentMb(pidOf(enrolling));
  const firstStartPeakMb = peakResidentMb(pidOf(enrolling));
  await stopProcess(enrolling.child);
  const agent = await startAgent({}, []);
  const idleNode = started(
    'the idle node',
    // startNode runs `node <script> <args>`: here the "script" is -e and its code.
    startNode('-e', ['setInterval(() => {}, 1e9)'], { PATH: process.env.PATH }),
  );
  const agentPid = pidOf(agent);
  const idleNodePid = pidOf(idleNode);
  await delay(SETTLE_MS);
  progress(`idle window: ${IDLE_MS / 1000} s`);
  const idleWindow = startWindow({ agent: agentPid, node: idleNodePid });
  await delay(IDLE_MS);
  const idle = idleWindow.stop();
  const idlePeakMb = peakResidentMb(agentPid);
  const idleBasePeakMb = peakResidentMb(idleNodePid);
  const idleSplit = residentSplitMb(agentPid);
  const idleBaseSplit = residentSplitMb(idleNodePid);
  if (agent.child.exitCode !== null) throw new Error(`the agent exited:\n${agent.output()}`);
  await stopProcess(agent.child);
  await stopProcess(idleNode.child);

  // ── key event → detector decision ──
  progress('restarting the agent with the timing preload, and a no-op hook beside it');
  const timingEnv = (name: string) => ({
    NODE_OPTIONS: `--import ${pathToFileURL(preload).href}`,
    LANTERN_BENCH_AGENT_CORE: join(REPO_ROOT, 'packages/agent-core/package.json'),
    LANTERN_BENCH_TIMINGS_FILE: join(root, `${name}-timings.json`),
  });
  const timedAgent = await startAgent(timingEnv('agent'), []);
  const noopHook = started(
    'the no-op hook',
    startNode('-e', ['setInterval(() => {}, 1e9)'], {
      ...agentEnv,
      ...timingEnv('noop'),
      LANTERN_BENCH_NOOP_HOOK: '1',
    }),
  );
  const timedAgentPid = pidOf(timedAgent);
  const noopHookPid = pidOf(noopHook);
  // Before this line, SIGUSR2 would still end the process (its default action).
  await noopHook.waitFor(/timing preload ready/, 10_000);
  await x.activate(window);

  const typed = typedText();
  progress(`typing ${typed.text.length} characters (${typed.lines} lines) with xdotool`);
  const typingWindow = startWindow({ agent: timedAgentPid, noop: noopHookPid });
  const xdotool = spawn('xdotool', ['type', '--delay', String(TYPING_DELAY_MS), typed.text], {
    env: x.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  cleanups.push({ what: 'xdotool', run: () => stopProcess(xdotool, 1_000) });
  let xdotoolErrors = '';
  xdotool.stderr.on('data', (chunk: Buffer) => (xdotoolErrors += chunk.toString('utf8')));
  const typedCode = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('xdotool was still typing after 120 s')),
      120_000,
    );
    xdotool.once('error', reject);
    xdotool.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  if (typedCode !== 0) throw new Error(`xdotool exited with ${typedCode}: ${xdotoolErrors}`);
  // Until both have seen every key press (the counts stop moving).
  let agentTimings: Timings | undefined;
  let noopTimings: Timings | undefined;
  let previous = -1;
  await waitFor(
    'the agent and the no-op hook have seen the same key presses',
    async () => {
      agentTimings = await readTimings(
        timedAgentPid,
        timingEnv('agent').LANTERN_BENCH_TIMINGS_FILE,
      );
      noopTimings = await readTimings(noopHookPid, timingEnv('noop').LANTERN_BENCH_TIMINGS_FILE);
      const settled = agentTimings.count === previous && agentTimings.count > 0;
      previous = agentTimings.count;
      return settled && noopTimings.count >= agentTimings.count;
    },
    {
      timeoutMs: 15_000,
      intervalMs: 250,
      detail: () =>
        `agent: ${agentTimings?.count ?? '?'} key presses, no-op hook: ${noopTimings?.count ?? '?'} (0 for the agent: the preload did not see its hook)`,
    },
  );
  const typing = typingWindow.stop();
  const typingPeakMb = peakResidentMb(timedAgentPid);
  const typingBasePeakMb = peakResidentMb(noopHookPid);
  if (!agentTimings || !noopTimings) throw new Error('unreachable');

  // ── report ──
  const cores = (busy: number) => `${busy.toFixed(2)} of ${cpus().length} cores busy`;
  const one = (figures: Map<string, WindowFigures>, name: string): WindowFigures => {
    const found = figures.get(name);
    if (!found) throw new Error(`no figures for ${name}`);
    return found;
  };
  const idleAgent = one(idle.figures, 'agent');
  const idleBase = one(idle.figures, 'node');
  const typingAgent = one(typing.figures, 'agent');
  const typingBase = one(typing.figures, 'noop');
  const ratio = (value: number, base: number) =>
    base > 0 ? `${(value / base).toFixed(1)}×` : value > 0 ? '∞ (baseline 0)' : '—';
  const verdict = (met: boolean) => (met ? 'met' : 'not met');
  const pct = (value: number) => `${value.toFixed(2)} %`;
  const mb = (value: number) => `${value.toFixed(1)} MB`;

  const handled = sortedOf(agentTimings.handledNs.map((ns) => ns / 1e3));
  const handledBase = sortedOf(noopTimings.handledNs.map((ns) => ns / 1e3));
  const arrival = sortedOf(agentTimings.sinceServerMs);
  const arrivalBase = sortedOf(noopTimings.sinceServerMs);
  // The server's clock is CLOCK_MONOTONIC on Linux; if it were not, these would be far off.
  const clocksAgree = quantile(arrivalBase, 0) > -2 && quantile(arrivalBase, 0.5) < 100;
  const us = (sorted: Float64Array, q: number) => quantile(sorted, q).toFixed(1);
  const ms = (sorted: Float64Array, q: number) => quantile(sorted, q).toFixed(2);
  const keyP99 = quantile(handled, 0.99);
  const arrivalP99 = quantile(arrival, 0.99);
  const keysPerSecond = agentTimings.count / typing.seconds;
  // Enter settles the sentence; a finding starts its capture (screenshot, spool) from here.
  const ENTER = 0x1c;
  const { handledNs, keycodes } = agentTimings;
  const byKey = (enter: boolean) =>
    sortedOf(
      handledNs.filter((_, index) => (keycodes[index] === ENTER) === enter).map((ns) => ns / 1e3),
    );
  const enterKeys = byKey(true);
  const otherKeys = byKey(false);
  const memory = agentTimings.memory;
  const toMb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

  const notes = [
    `machine: ${cores(idle.machineCores)} in the idle window (${idle.seconds.toFixed(0)} s)${idle.machineCores > 0.25 ? ': other work is running, read ratios' : ''}; ${cores(typing.machineCores)} while typing (${typing.seconds.toFixed(0)} s, X server and xdotool included)`,
    `typed: ${typed.text.length} characters in ${typed.lines} lines (${typed.concerning} concerning), ${keysPerSecond.toFixed(0)} key presses/s; key presses seen by the agent ${agentTimings.count}, by the no-op hook ${noopTimings.count}`,
    "key → decision: the agent's uiohook callback, entry to return (translation, detector, what a decision starts synchronously)",
    "X server → decision: from the event's X server timestamp (whole ms, so up to 1 ms high) to the callback's return",
    'screenshots: sharp (libvips) is loaded by the first capture that takes one, so the figures while typing include it and the idle ones do not',
    `agent memory after typing (with the preload): RSS ${toMb(memory.rss)} MB = V8 heap ${toMb(memory.heapTotal)} MB (${toMb(memory.heapUsed)} used) + external ${toMb(memory.external)} MB (array buffers ${toMb(memory.arrayBuffers)}) + ${toMb(memory.rss - memory.heapTotal - memory.external)} MB code, native libraries, stacks and allocator`,
  ];
  const rows: string[][] = [
    ['idle', 'agent', 'idle node', 'ratio', 'target', 'result'],
    [
      'CPU, agent process (% of one core)',
      pct(idleAgent.cpuPct),
      pct(idleBase.cpuPct),
      ratio(idleAgent.cpuPct, idleBase.cpuPct),
      `< ${TARGET_IDLE_CPU_PCT} %`,
      verdict(idleAgent.cpuPct < TARGET_IDLE_CPU_PCT),
    ],
    [
      'CPU, with its xprop/xclip children',
      pct(idleAgent.treeCpuPct),
      pct(idleBase.treeCpuPct),
      ratio(idleAgent.treeCpuPct, idleBase.treeCpuPct),
      `< ${TARGET_IDLE_CPU_PCT} %`,
      verdict(idleAgent.treeCpuPct < TARGET_IDLE_CPU_PCT),
    ],
    [
      'RSS, agent process (max in window)',
      mb(idleAgent.rssMaxMb),
      mb(idleBase.rssMaxMb),
      ratio(idleAgent.rssMaxMb, idleBase.rssMaxMb),
      `< ${TARGET_RSS_MB} MB`,
      verdict(idleAgent.rssMaxMb < TARGET_RSS_MB),
    ],
    [
      'RSS, with its live children',
      mb(idleAgent.treeRssMaxMb),
      mb(idleBase.treeRssMaxMb),
      ratio(idleAgent.treeRssMaxMb, idleBase.treeRssMaxMb),
    ],
    [
      '  at the end: private / file-backed',
      `${mb(idleSplit.anon)} / ${mb(idleSplit.file)}`,
      `${mb(idleBaseSplit.anon)} / ${mb(idleBaseSplit.file)}`,
    ],
    [
      'peak RSS since start (VmHWM)',
      mb(idlePeakMb),
      mb(idleBasePeakMb),
      ratio(idlePeakMb, idleBasePeakMb),
    ],
    ['first start (enrolling): RSS online / peak', `${mb(firstStartMb)} / ${mb(firstStartPeakMb)}`],
    [],
    ['typing', 'agent + preload', 'no-op hook', 'ratio', 'target', 'result'],
    [
      'key → decision, p99',
      `${us(handled, 0.99)} µs`,
      `${us(handledBase, 0.99)} µs`,
      ratio(keyP99, quantile(handledBase, 0.99)),
      `< ${TARGET_KEY_P99_US / 1000} ms`,
      verdict(keyP99 < TARGET_KEY_P99_US),
    ],
    [
      '  p50 / p99.9 / max (µs)',
      `${us(handled, 0.5)} / ${us(handled, 0.999)} / ${us(handled, 1)}`,
      `${us(handledBase, 0.5)} / ${us(handledBase, 0.999)} / ${us(handledBase, 1)}`,
    ],
    [
      `  Enter only (${enterKeys.length}): p50 / p99 / max (µs)`,
      `${us(enterKeys, 0.5)} / ${us(enterKeys, 0.99)} / ${us(enterKeys, 1)}`,
    ],
    [
      `  other keys (${otherKeys.length}): p50 / p99 / max (µs)`,
      `${us(otherKeys, 0.5)} / ${us(otherKeys, 0.99)} / ${us(otherKeys, 1)}`,
    ],
    ...(clocksAgree
      ? [
          [
            'X server → decision, p99 (at most)',
            `${ms(arrival, 0.99)} ms`,
            `${ms(arrivalBase, 0.99)} ms`,
            ratio(arrivalP99, quantile(arrivalBase, 0.99)),
            `< ${TARGET_KEY_P99_US / 1000} ms`,
            // Whole-ms timestamps: at most 1 ms high (2 where the X server reads a coarse clock).
            arrivalP99 < TARGET_KEY_P99_US / 1000
              ? 'met'
              : arrivalP99 - 2 >= TARGET_KEY_P99_US / 1000
                ? 'not met'
                : 'unresolved (ms steps)',
          ],
          [
            '  p50 / p99.9 / max (ms)',
            `${ms(arrival, 0.5)} / ${ms(arrival, 0.999)} / ${ms(arrival, 1)}`,
            `${ms(arrivalBase, 0.5)} / ${ms(arrivalBase, 0.999)} / ${ms(arrivalBase, 1)}`,
          ],
        ]
      : [['X server → decision', 'n/a: the X server clock is not CLOCK_MONOTONIC here']]),
    [
      'CPU (% of one core)',
      pct(typingAgent.cpuPct),
      pct(typingBase.cpuPct),
      ratio(typingAgent.cpuPct, typingBase.cpuPct),
    ],
    [
      'CPU, with its xprop/xclip children',
      pct(typingAgent.treeCpuPct),
      pct(typingBase.treeCpuPct),
      ratio(typingAgent.treeCpuPct, typingBase.treeCpuPct),
    ],
    [
      'RSS (max in window)',
      mb(typingAgent.rssMaxMb),
      mb(typingBase.rssMaxMb),
      ratio(typingAgent.rssMaxMb, typingBase.rssMaxMb),
      `< ${TARGET_RSS_MB} MB`,
      verdict(typingAgent.rssMaxMb < TARGET_RSS_MB),
    ],
    [
      'peak RSS since restart (VmHWM)',
      mb(typingPeakMb),
      mb(typingBasePeakMb),
      ratio(typingPeakMb, typingBasePeakMb),
    ],
  ];
  const widths = rows.reduce<number[]>(
    (max, row) =>
      row
        .map((cell, index) => Math.max(max[index] ?? 0, cell.length))
        .concat(max.slice(row.length)),
    [],
  );
  const table = rows.map((row) =>
    row
      .map((cell, index) => cell.padEnd(widths[index] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return [...notes, '', ...table].join('\n');
}

const limit = setTimeout(() => {
  console.error(`agent-resources: not finished after ${RUN_LIMIT_MS / 60_000} minutes, stopping`);
  void cleanUp().finally(() => process.exit(1));
}, RUN_LIMIT_MS);
try {
  console.log(await main());
} catch (error) {
  process.exitCode = 1;
  console.error(error);
} finally {
  await cleanUp();
  clearTimeout(limit);
}
