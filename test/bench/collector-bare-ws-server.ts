// The floor for collector-idle-connections.ts: a plain `ws` server, no Fastify, no
// authentication, no database, that answers each connection's first frame with a welcome.
// Run as a child (fork, with --expose-gc): prints nothing, talks over IPC.
import { once } from 'node:events';
import { createServer } from 'node:http';

import { WebSocketServer } from 'ws';

import {
  MAX_CAPTURE_BATCH,
  MAX_FRAME_BYTES,
  MAX_SCREENSHOT_BYTES,
  PROTOCOL_VERSION,
} from '@lantern/protocol';

export type ToBareServer = { kind: 'measure' } | { kind: 'close' };
export type FromBareServer =
  | { kind: 'listening'; url: string }
  | { kind: 'memory'; usage: NodeJS.MemoryUsage; connections: number };

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !process.send)
  throw new Error('run by collector-idle-connections.ts (fork, --expose-gc)');
const send = (message: FromBareServer) => process.send?.(message);

const server = createServer();
const sockets = new WebSocketServer({ server, maxPayload: MAX_FRAME_BYTES });
sockets.on('connection', (socket) => {
  socket.once('message', () =>
    socket.send(
      JSON.stringify({
        type: 'welcome',
        v: PROTOCOL_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        deviceId: '00000000-0000-4000-8000-000000000000',
        siteId: '00000000-0000-4000-8000-000000000000',
        serverTime: new Date().toISOString(),
        policyVersion: null,
        heartbeatIntervalMs: 60_000,
        limits: {
          maxFrameBytes: MAX_FRAME_BYTES,
          maxCaptureBatch: MAX_CAPTURE_BATCH,
          maxScreenshotBytes: MAX_SCREENSHOT_BYTES,
        },
      }),
    ),
  );
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const address = server.address();
if (typeof address !== 'object' || !address) throw new Error('the bare server has no address');
send({ kind: 'listening', url: `http://127.0.0.1:${address.port}` });

process.on('disconnect', () => process.exit(1));
process.on('message', (message: ToBareServer) => {
  if (message.kind === 'measure') {
    gc();
    gc();
    send({ kind: 'memory', usage: process.memoryUsage(), connections: sockets.clients.size });
  } else {
    for (const socket of sockets.clients) socket.terminate();
    sockets.close();
    server.close(() => process.exit(0));
  }
});
