// The load generator of the collector benchmarks: agents as real WebSocket clients of
// /v1/agent, in a process of its own so the collector under test keeps its event loop (and
// the CPU this costs is still paid on the same machine). Started by collector-harness.ts,
// which sends it one job over the IPC channel, then `go`, and later `stop`.
import { performance } from 'node:perf_hooks';

import WebSocket from 'ws';

import {
  AGENT_WS_PATH,
  CONTEXT_MAX_CHARS,
  MAX_CAPTURE_BATCH,
  PROTOCOL_VERSION,
} from '@lantern/protocol';
import { makeCapture, makeHello, testUuidV7 } from '@lantern/protocol/testing';

/** A device enrolled for the benchmark: its id and the credential it connects with. */
export interface BenchDevice {
  readonly deviceId: string;
  readonly credential: string;
}

/** What each kind of job is told. `url` is the collector's http:// base URL. */
export type LoadJob =
  | {
      /**
       * Stream captures from every device for `warmupMs + durationMs`, then wait for the
       * last acks. Closed loop (`window` frames in flight per device) unless `paceCapturesPerSecond`
       * is set: then each device sends on a fixed schedule whatever the acks do (open loop).
       */
      readonly kind: 'stream';
      readonly url: string;
      readonly siteId: string;
      readonly devices: readonly BenchDevice[];
      readonly batchSize: number;
      readonly window: number;
      /** Per device, kept under the collector's own limit so no frame is refused for rate. */
      readonly maxFramesPerSecond: number;
      readonly paceCapturesPerSecond?: number;
      readonly warmupMs: number;
      readonly durationMs: number;
      /** Capture ids are testUuidV7(now, idBase + n): give each worker its own range. */
      readonly idBase: number;
    }
  | {
      /**
       * On `go`, every device connects at once and sends its spool (its `captureIds`, one
       * frame) until acknowledged, reconnecting with backoff on any failure, as an agent
       * does. Devices marked in `dropFirst` close the socket right after their first send
       * (an ack lost on the way), reconnect and resend everything.
       */
      readonly kind: 'storm';
      readonly url: string;
      readonly siteId: string;
      readonly devices: readonly BenchDevice[];
      readonly captureIds: readonly (readonly string[])[];
      readonly dropFirst: readonly boolean[];
      readonly deadlineMs: number;
    }
  | {
      /** Connect and greet every device (`concurrency` at a time), then stay idle until `stop`. */
      readonly kind: 'idle';
      readonly url: string;
      readonly devices: readonly BenchDevice[];
      readonly concurrency: number;
    }
  | {
      /** GET `path` every `intervalMs` until `stop`, recording each answer's latency. */
      readonly kind: 'probe';
      readonly url: string;
      readonly path: string;
      readonly intervalMs: number;
    };

export interface StreamResult {
  readonly kind: 'stream';
  readonly sentCaptures: number;
  readonly ackedCaptures: number;
  readonly ackedInWindow: number;
  readonly windowMs: number;
  /** Send → ack of each frame acknowledged in the window, in ms. */
  readonly latenciesMs: Float64Array;
  readonly errors: Record<string, number>;
  readonly unexpectedCloses: number;
  readonly cpuMsInWindow: number;
  readonly frameBytes: number;
}

export interface StormResult {
  readonly kind: 'storm';
  readonly finishedAgents: number;
  readonly failedAgents: number;
  /** Epoch ms at which each agent had its whole spool acknowledged. */
  readonly finishedAt: Float64Array;
  /** Which agents (indexes into the job's devices) had their spool acknowledged. */
  readonly finishedAgentIndexes: Int32Array;
  readonly connectAttempts: number;
  readonly retries: Record<string, number>;
  /** Upgrade + hello → welcome of each successful connection, in ms. */
  readonly connectMs: Float64Array;
  readonly ackedCaptures: number;
  /** CPU this generator used from `go` to its last agent done. */
  readonly cpuMs: number;
}

export interface IdleResult {
  readonly kind: 'idle';
  readonly connected: number;
  readonly closedWhileIdle: number;
}

export interface ProbeResult {
  readonly kind: 'probe';
  /** Epoch ms each request was sent, its latency in ms, and its HTTP status (0: no answer). */
  readonly sentAt: Float64Array;
  readonly latencyMs: Float64Array;
  readonly status: Int32Array;
}

export type LoadResult = StreamResult | StormResult | IdleResult | ProbeResult;

export type ToWorker = { kind: 'job'; job: LoadJob } | { kind: 'go' } | { kind: 'stop' };
export type FromWorker =
  | { kind: 'ready'; connected: number }
  | { kind: 'result'; result: LoadResult }
  | { kind: 'failed'; message: string };

// ── captures ─────────────────────────────────────────────────────────────────────────
// Synthetic context, as long as the protocol allows (CONTEXT_MAX_CHARS), so a capture is
// about 1 KB of JSON. It opens with makeMatch()'s phrase, where the match span points.
const CONTEXT =
  `honestly nobody would miss me if i was gone. ${'we talked about the maths homework, the football match on saturday and who is bringing snacks to the form trip. '.repeat(8)}`.slice(
    0,
    CONTEXT_MAX_CHARS,
  );
const PLACEHOLDER_ID = '00000000-0000-7000-8000-000000000000';

/**
 * One device's captures as JSON text around the id: serialising a template once and
 * splicing ids in keeps the generator's CPU (which the collector shares) low.
 */
function captureTemplate(siteId: string, deviceId: string): (id: string) => string {
  const json = JSON.stringify(
    makeCapture({
      id: PLACEHOLDER_ID,
      siteId,
      deviceId,
      observedAt: new Date().toISOString(),
      context: CONTEXT,
      windowTitle: 'Messages - Chat - Year 9 form group - Microsoft Teams',
      loginName: `pupil.${deviceId.slice(0, 8)}`,
    }),
  );
  const [before, after] = json.split(PLACEHOLDER_ID);
  if (before === undefined || after === undefined) throw new Error('capture template lost its id');
  return (id) => before + id + after;
}

const captureFrame = (captures: readonly string[]) =>
  `{"type":"capture","v":${PROTOCOL_VERSION},"captures":[${captures.join(',')}]}`;

// ── one agent connection ─────────────────────────────────────────────────────────────

/**
 * The frames the collector sends that the generator reads. JSON.parse only: the collector's
 * own tests check its frames against the schemas, and zod here would take CPU from it.
 */
type Answer =
  | { type: 'welcome' }
  | { type: 'ack'; captureIds: string[] }
  | { type: 'error'; code: string; captureId?: string }
  | { type: 'policy' | 'screenshot_ack' };

interface Connection {
  readonly socket: WebSocket;
  /** Resolves with the close code when the socket closes. */
  readonly closed: Promise<number>;
}

/** Open /v1/agent for a device, say hello and wait for welcome; rejects with a short reason. */
function connectAgent(
  url: string,
  device: BenchDevice,
  onAnswer: (answer: Answer) => void,
  timeoutMs: number,
): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}${AGENT_WS_PATH}`, {
      headers: { authorization: `Bearer ${device.credential}` },
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    let settled = false;
    const timer = setTimeout(() => fail('welcome-timeout'), timeoutMs);
    const closed = new Promise<number>((resolveClosed) =>
      socket.once('close', (code: number) => {
        resolveClosed(code);
        fail(`closed-${code}`);
      }),
    );
    function fail(reason: string): void {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      socket.terminate();
      reject(new Error(reason));
    }
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      fail(`http-${response.statusCode ?? 0}`);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? 'socket-error'));
    socket.once('open', () =>
      socket.send(JSON.stringify(makeHello({ deviceId: device.deviceId }))),
    );
    socket.on('message', (data: Buffer) => {
      const answer = JSON.parse(data.toString('utf8')) as Answer;
      if (!settled && answer.type === 'welcome') {
        settled = true;
        clearTimeout(timer);
        resolve({ socket, closed });
        return;
      }
      // An error instead of welcome (the collector could not finish hello): start again.
      if (!settled && answer.type === 'error') {
        fail(`error-${answer.code}-before-welcome`);
        return;
      }
      onAnswer(answer);
    });
  });
}

/** Run `task` over `items`, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  });
  await Promise.all(runners);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ── jobs ─────────────────────────────────────────────────────────────────────────────
let go: () => void = () => undefined;
const started = new Promise<void>((resolve) => (go = resolve));
let stop: () => void = () => undefined;
const stopped = new Promise<void>((resolve) => (stop = resolve));

const send = (message: FromWorker) => process.send?.(message);

async function runStream(job: Extract<LoadJob, { kind: 'stream' }>): Promise<StreamResult> {
  if (job.batchSize < 1 || job.batchSize > MAX_CAPTURE_BATCH)
    throw new Error(`batchSize must be 1–${MAX_CAPTURE_BATCH}`);
  const errors: Record<string, number> = {};
  let sequence = 0;
  let sentCaptures = 0;
  let ackedCaptures = 0;
  let ackedInWindow = 0;
  let unexpectedCloses = 0;
  let frameBytes = 0;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let sending = false;
  const latencies: number[] = [];
  const waitingForDrain = new Set<() => void>();

  interface Agent {
    connection?: Connection;
    /** Frames sent and not answered, oldest first: the collector answers in order. */
    readonly inFlight: { sentAt: number; count: number }[];
    sendFrame(now: number): void;
    /** Closed loop: keep `window` frames in flight, within the client-side frame budget. */
    pump(): void;
  }

  const makeAgent = (device: BenchDevice): Agent => {
    const template = captureTemplate(job.siteId, device.deviceId);
    let tokens = job.maxFramesPerSecond;
    let refilledAt = performance.now();
    let pumpTimer: NodeJS.Timeout | undefined;
    const agent: Agent = {
      inFlight: [],
      sendFrame: (now) => {
        const ids = Array.from({ length: job.batchSize }, () =>
          testUuidV7(Date.now(), job.idBase + ++sequence),
        );
        const frame = captureFrame(ids.map(template));
        frameBytes = frame.length;
        agent.connection?.socket.send(frame);
        agent.inFlight.push({ sentAt: now, count: ids.length });
        sentCaptures += ids.length;
      },
      pump: () => {
        if (!sending || job.paceCapturesPerSecond !== undefined || pumpTimer) return;
        while (agent.inFlight.length < job.window) {
          const now = performance.now();
          tokens = Math.min(
            job.maxFramesPerSecond,
            tokens + ((now - refilledAt) / 1000) * job.maxFramesPerSecond,
          );
          refilledAt = now;
          if (tokens < 1) {
            pumpTimer = setTimeout(
              () => {
                pumpTimer = undefined;
                agent.pump();
              },
              ((1 - tokens) / job.maxFramesPerSecond) * 1000,
            );
            return;
          }
          tokens -= 1;
          agent.sendFrame(now);
        }
      },
    };
    return agent;
  };
  const agents = job.devices.map(makeAgent);

  const onAnswer = (agent: Agent) => (answer: Answer) => {
    if (answer.type === 'error') {
      errors[answer.code] = (errors[answer.code] ?? 0) + 1;
      // A capture-level error comes before its frame's ack; a frame-level one answers the frame.
      if (answer.captureId === undefined) agent.inFlight.shift();
    } else if (answer.type === 'ack') {
      const now = performance.now();
      const frame = agent.inFlight.shift();
      ackedCaptures += answer.captureIds.length;
      if (frame && now >= windowStart && now < windowEnd) {
        ackedInWindow += answer.captureIds.length;
        latencies.push(now - frame.sentAt);
      }
    } else return;
    if (agent.inFlight.length === 0) for (const resolve of waitingForDrain) resolve();
    agent.pump();
  };

  await eachLimited(agents, 50, async (agent, index) => {
    const device = job.devices[index] as BenchDevice;
    agent.connection = await connectAgent(job.url, device, onAnswer(agent), 30_000);
    void agent.connection.closed.then(() => {
      if (sending || agent.inFlight.length > 0) unexpectedCloses += 1;
    });
  });
  send({ kind: 'ready', connected: agents.length });
  await started;

  const goAt = performance.now();
  windowStart = goAt + job.warmupMs;
  windowEnd = windowStart + job.durationMs;
  sending = true;
  let cpuAtWindowStart = process.cpuUsage();
  const windowTimer = setTimeout(() => (cpuAtWindowStart = process.cpuUsage()), job.warmupMs);
  const pacers: NodeJS.Timeout[] = [];
  if (job.paceCapturesPerSecond !== undefined) {
    // Open loop on a fixed schedule, each device at its own phase, so the load is even.
    const periodMs = (job.batchSize / job.paceCapturesPerSecond) * 1000;
    agents.forEach((agent, index) => {
      const firstAt = goAt + (periodMs * index) / agents.length;
      let k = 0;
      const tick = () => {
        if (!sending) return;
        agent.sendFrame(performance.now());
        k += 1;
        pacers[index] = setTimeout(tick, Math.max(0, firstAt + k * periodMs - performance.now()));
      };
      pacers[index] = setTimeout(tick, Math.max(0, firstAt - performance.now()));
    });
  } else {
    for (const agent of agents) agent.pump();
  }
  await sleep(job.warmupMs + job.durationMs);
  sending = false;
  const cpu = process.cpuUsage(cpuAtWindowStart);
  clearTimeout(windowTimer);
  for (const timer of pacers) clearTimeout(timer);

  // Wait for the last acks, so the database holds exactly what was acknowledged.
  const drainDeadline = performance.now() + 75_000;
  while (agents.some((agent) => agent.inFlight.length > 0)) {
    if (performance.now() > drainDeadline) {
      const left = agents.reduce((sum, agent) => sum + agent.inFlight.length, 0);
      throw new Error(`${left} frames still unanswered 75 s after the load stopped`);
    }
    await new Promise<void>((resolve) => {
      waitingForDrain.add(resolve);
      setTimeout(resolve, 100);
    });
    waitingForDrain.clear();
  }
  for (const agent of agents) agent.connection?.socket.close();
  return {
    kind: 'stream',
    sentCaptures,
    ackedCaptures,
    ackedInWindow,
    windowMs: job.durationMs,
    latenciesMs: Float64Array.from(latencies),
    errors,
    unexpectedCloses,
    cpuMsInWindow: (cpu.user + cpu.system) / 1000,
    frameBytes,
  };
}

async function runStorm(job: Extract<LoadJob, { kind: 'storm' }>): Promise<StormResult> {
  const frames = job.devices.map((device, index) => {
    const template = captureTemplate(job.siteId, device.deviceId);
    return captureFrame((job.captureIds[index] ?? []).map(template));
  });
  const retries: Record<string, number> = {};
  const connectMs: number[] = [];
  const finishedAt: number[] = [];
  const finishedAgentIndexes: number[] = [];
  let connectAttempts = 0;
  let ackedCaptures = 0;
  let failedAgents = 0;
  send({ kind: 'ready', connected: 0 });
  await started;
  const cpuAtGo = process.cpuUsage();
  const deadline = Date.now() + job.deadlineMs;

  const runAgent = async (device: BenchDevice, index: number): Promise<void> => {
    const ids = job.captureIds[index] ?? [];
    let dropNext = job.dropFirst[index] ?? false;
    for (let attempt = 0; Date.now() < deadline; attempt += 1) {
      if (attempt > 0) {
        // An agent's backoff: exponential from 250 ms, capped at 5 s, with full jitter.
        await sleep(Math.random() * Math.min(5_000, 250 * 2 ** (attempt - 1)));
      }
      connectAttempts += 1;
      const connectStarted = performance.now();
      let answered: (outcome: string[] | string) => void = () => undefined;
      const answer = new Promise<string[] | string>((resolve) => (answered = resolve));
      let connection: Connection;
      try {
        connection = await connectAgent(
          job.url,
          device,
          (frame) => {
            if (frame.type === 'ack') answered(frame.captureIds);
            // The frame was not stored (e.g. INTERNAL): send it again on a new connection.
            else if (frame.type === 'error') answered(`error-${frame.code}`);
          },
          30_000,
        );
      } catch (error) {
        const reason = (error as Error).message;
        retries[reason] = (retries[reason] ?? 0) + 1;
        continue;
      }
      connectMs.push(performance.now() - connectStarted);
      connection.socket.send(frames[index] ?? '');
      if (dropNext) {
        // The ack is lost: the socket goes before it arrives, and the agent sends it all again.
        dropNext = false;
        connection.socket.terminate();
        retries['dropped-before-ack (by design)'] =
          1 + (retries['dropped-before-ack (by design)'] ?? 0);
        continue;
      }
      const outcome = await Promise.race([
        answer,
        connection.closed.then((code) => `closed-${code}`),
        sleep(30_000).then(() => 'ack-timeout'),
      ]);
      if (typeof outcome === 'string') {
        retries[outcome] = (retries[outcome] ?? 0) + 1;
        connection.socket.terminate();
        continue;
      }
      if (outcome.length !== ids.length)
        throw new Error(`ack for ${outcome.length} of ${ids.length} captures`);
      ackedCaptures += outcome.length;
      finishedAt.push(Date.now());
      finishedAgentIndexes.push(index);
      connection.socket.close();
      return;
    }
    failedAgents += 1;
  };
  await Promise.all(job.devices.map(runAgent));
  const cpu = process.cpuUsage(cpuAtGo);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    kind: 'storm',
    finishedAgents: finishedAt.length,
    failedAgents,
    finishedAt: Float64Array.from(finishedAt),
    finishedAgentIndexes: Int32Array.from(finishedAgentIndexes),
    connectAttempts,
    retries,
    connectMs: Float64Array.from(connectMs),
    ackedCaptures,
  };
}

async function runIdle(job: Extract<LoadJob, { kind: 'idle' }>): Promise<IdleResult> {
  const connections: Connection[] = [];
  let closedWhileIdle = 0;
  let idle = true;
  await eachLimited(job.devices, job.concurrency, async (device) => {
    const connection = await connectAgent(job.url, device, () => undefined, 30_000);
    connections.push(connection);
    void connection.closed.then(() => {
      if (idle) closedWhileIdle += 1;
    });
  });
  send({ kind: 'ready', connected: connections.length });
  await stopped;
  idle = false;
  await Promise.all(
    connections.map((connection) => {
      connection.socket.close();
      return connection.closed;
    }),
  );
  return { kind: 'idle', connected: connections.length, closedWhileIdle };
}

async function runProbe(job: Extract<LoadJob, { kind: 'probe' }>): Promise<ProbeResult> {
  const sentAt: number[] = [];
  const latencyMs: number[] = [];
  const status: number[] = [];
  let running = true;
  void stopped.then(() => (running = false));
  send({ kind: 'ready', connected: 0 });
  while (running) {
    const at = Date.now();
    const begun = performance.now();
    let code = 0;
    try {
      const response = await fetch(`${job.url}${job.path}`, {
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      code = response.status;
    } catch {
      // No answer within 10 s (or a refused connection): recorded as status 0.
    }
    const took = performance.now() - begun;
    sentAt.push(at);
    latencyMs.push(took);
    status.push(code);
    await sleep(Math.max(0, job.intervalMs - took));
  }
  return {
    kind: 'probe',
    sentAt: Float64Array.from(sentAt),
    latencyMs: Float64Array.from(latencyMs),
    status: Int32Array.from(status),
  };
}

const run = (job: LoadJob): Promise<LoadResult> => {
  switch (job.kind) {
    case 'stream':
      return runStream(job);
    case 'storm':
      return runStorm(job);
    case 'idle':
      return runIdle(job);
    case 'probe':
      return runProbe(job);
  }
};

if (!process.send)
  throw new Error('collector-load-worker.ts runs as a child of a benchmark (fork).');
// Never outlive the benchmark that started us.
process.on('disconnect', () => process.exit(1));
process.on('message', (message: ToWorker) => {
  if (message.kind === 'go') go();
  else if (message.kind === 'stop') stop();
  else
    void run(message.job).then(
      (result) => send({ kind: 'result', result }),
      (error: unknown) =>
        send({
          kind: 'failed',
          message: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
});
