import websocket from '@fastify/websocket';
import { and, inArray, isNotNull } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

import { CLOSE_CODES, MAX_FRAME_BYTES } from '@lantern/protocol';

import { FolderBlobStore, type BlobStore } from '../modules/blobs/blob-store.ts';
import { S3BlobStore } from '../modules/blobs/s3-blob-store.ts';
import { devices } from '../modules/devices/device.table.ts';
import { CHANNELS } from '../modules/events/events.ts';
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
import { PolicyCache } from '../modules/policies/policy-cache.ts';
import { currentPolicy, storedPolicyVersion } from '../modules/policies/policy.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    blobStore: BlobStore;
    groupCommitter: CaptureCommitter;
    policyCache: PolicyCache;
  }
}

/** Cut off every connected device that has been revoked. */
async function disconnectRevoked(app: FastifyInstance): Promise<void> {
  const connected = app.agents.deviceIds();
  if (connected.length === 0) return;
  const revoked = await app.database.db
    .select({ id: devices.id })
    .from(devices)
    .where(and(inArray(devices.id, connected), isNotNull(devices.revokedAt)));
  for (const { id } of revoked)
    app.agents.disconnect(id, CLOSE_CODES.deviceRevoked, 'device revoked');
}

export interface IngestOptions {
  /** `per-capture`: one transaction per capture, the benchmark's baseline. Default `group`. */
  readonly ingestCommit?: 'group' | 'per-capture';
}

/**
 * Agent ingest: the WebSocket endpoint, the blob store and group commit. On shutdown,
 * agents are told the collector is going away (they reconnect elsewhere or later), and the
 * commit in flight finishes before the database closes.
 */
export const ingestPlugin = fp<IngestOptions>(
  async (app, options) => {
    const blobs = app.config.blobs;
    const blobStore: BlobStore =
      blobs.kind === 's3'
        ? new S3BlobStore({
            bucket: blobs.bucket,
            region: blobs.region,
            endpoint: blobs.endpoint,
            prefix: blobs.prefix,
            forcePathStyle: blobs.forcePathStyle,
          })
        : new FolderBlobStore(blobs.dir);
    app.decorate('blobStore', blobStore);
    const committer: CaptureCommitter =
      options.ingestCommit === 'per-capture'
        ? new PerCaptureCommitter(app.database.db)
        : new GroupCommitter(app.database.db);
    app.decorate('groupCommitter', committer);
    app.decorate('agents', new AgentRegistry());
    const policyCache = new PolicyCache(
      (siteId) => currentPolicy(app.database.db, siteId),
      (siteId, version) => storedPolicyVersion(app.database.db, siteId, version),
    );
    app.decorate('policyCache', policyCache);
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
      if (blobStore instanceof S3BlobStore) blobStore.close();
    });
    // A device revoked on any instance is cut off here too; after the listener reconnects
    // (notices may have been missed), every connected device is checked.
    const stopListening = await app.database.listen(
      CHANNELS.deviceRevoked,
      (deviceId) => app.agents.disconnect(deviceId, CLOSE_CODES.deviceRevoked, 'device revoked'),
      () => {
        void disconnectRevoked(app).catch((error: unknown) =>
          app.log.warn({ err: error }, 'could not check connected devices for revocation'),
        );
      },
    );
    // A site's new policy, from any instance, goes to its devices connected here; after the
    // listener reconnects, every cached policy is forgotten and every connected site's
    // current policy is sent again (harmless to a device that has it).
    const pushPolicy = async (siteId: string) => {
      const policy = await policyCache.refresh(siteId);
      const sent = app.agents.pushPolicy(policy);
      app.log.info({ siteId, version: policy.version, devices: sent }, 'policy pushed');
    };
    const stopPolicy = await app.database.listen(
      CHANNELS.policyChanged,
      (siteId) => {
        void pushPolicy(siteId).catch((error: unknown) =>
          app.log.warn({ err: error, siteId }, 'could not push the new policy'),
        );
      },
      () => {
        policyCache.clear();
        for (const siteId of app.agents.siteIds())
          void pushPolicy(siteId).catch((error: unknown) =>
            app.log.warn({ err: error, siteId }, 'could not push the policy again'),
          );
      },
    );
    app.addHook('preClose', async () => {
      await stopListening();
      await stopPolicy();
    });
    await app.register(agentSocketRoutes);
  },
  { name: 'ingest', dependencies: ['config', 'db', 'metrics'] },
);
