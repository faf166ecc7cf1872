import { once } from 'node:events';

import WebSocket from 'ws';

import { parseCollectorFrame, type AgentFrame, type CollectorFrame } from '@lantern/protocol';

/** A test client that speaks to /v1/agent as an agent does, and waits for frames by condition. */
export interface TestAgent {
  readonly socket: WebSocket;
  send(frame: AgentFrame | Record<string, unknown> | string): void;
  /** The next frame (from those not yet taken) that satisfies `predicate`. */
  next<T extends CollectorFrame['type']>(
    type: T,
    predicate?: (frame: Extract<CollectorFrame, { type: T }>) => boolean,
  ): Promise<Extract<CollectorFrame, { type: T }>>;
  /** The frames received and not yet taken by `next`, in order. */
  waiting(): readonly CollectorFrame[];
  closed(): Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export async function connectAgent(
  baseUrl: string,
  credential: string | undefined,
): Promise<TestAgent> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/agent`, {
    headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` },
  });
  const frames: CollectorFrame[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data: Buffer) => {
    const parsed = parseCollectorFrame(data);
    if (!parsed.ok) throw new Error(`the collector sent an invalid frame: ${parsed.error.message}`);
    frames.push(parsed.frame);
    for (const waiter of waiters) waiter();
  });
  const closedPromise = once(socket, 'close').then(([code, reason]) => ({
    code: code as number,
    reason: String(reason),
  }));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        reject(
          Object.assign(new Error(`upgrade refused: ${response.statusCode} ${body}`), {
            statusCode: response.statusCode,
            body,
          }),
        ),
      );
    });
    socket.once('error', reject);
  });
  return {
    socket,
    send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: (type, predicate) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const index = frames.findIndex(
            (frame) => frame.type === type && (!predicate || predicate(frame as never)),
          );
          if (index >= 0) {
            const [frame] = frames.splice(index, 1);
            waiters.delete(check);
            clearTimeout(timer);
            resolve(frame as never);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no ${type} frame within 10 s; frames waiting: ${JSON.stringify(frames)}`),
          );
        }, 10_000);
        waiters.add(check);
        check();
      }),
    waiting: () => [...frames],
    closed: () => closedPromise,
    close: async () => {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close();
      await closedPromise;
    },
  };
}
