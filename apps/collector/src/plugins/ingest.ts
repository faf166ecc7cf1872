import { join } from 'node:path';

import websocket from '@fastify/websocket';
import fp from 'fastify-plugin';

import { CLOSE_CODES, MAX_FRAME_BYTES } from '@lantern/protocol';

import { FolderBlobStore, type BlobStore } from '../modules/blobs/blob-store.ts';
import {
  AgentRegistry,
  agentSocketRoutes,
  IngestCounters,
} from '../modules/ingest/agent.socket.ts';
import {
  GroupCommitter,
  PerCaptureCommitter,
  type CaptureCommitter,
} from '../modules/ingest/group-commit.ts';

declare module 'fastify' {
  interface FastifyInstance {
    blobStore: BlobStore;
    groupCommitter: CaptureCommitter;
  }
}

/**
 * Agent ingest: the WebSocket endpoint, the blob store and group commit. On shutdown,
 * agents are told the collector is going away (they reconnect elsewhere or later), and the
 * commit in flight finishes before the database closes.
 */
export interface IngestOptions {
  /** `per-capture`: one transaction per capture, the benchmark's baseline. Default `group`. */
  readonly ingestCommit?: 'group' | 'per-capture';
}

export const ingestPlugin = fp<IngestOptions>(
  async (app, options) => {
    app.decorate('blobStore', new FolderBlobStore(join(app.config.dataDir, 'blobs')));
    const committer: CaptureCommitter =
      options.ingestCommit === 'per-capture'
        ? new PerCaptureCommitter(app.database.db)
        : new GroupCommitter(app.database.db);
    app.decorate('groupCommitter', committer);
    app.decorate('agents', new AgentRegistry());
    app.decorate(
      'ingestCounters',
      new IngestCounters((code) => app.metrics.framesRejected.inc({ code })),
    );
    // Frames over the limit are refused by the WebSocket layer itself (close 1009), never buffered.
    await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });
    app.addHook('preClose', async () => {
      app.agents.closeAll(CLOSE_CODES.goingAway, 'collector shutting down');
    });
    app.addHook('onClose', async () => {
      await app.groupCommitter.close();
    });
    await app.register(agentSocketRoutes);
  },
  { name: 'ingest', dependencies: ['config', 'db', 'metrics'] },
);
