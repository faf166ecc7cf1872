import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  createEnrolmentToken,
  createSite,
  loadConfig,
  startCollector,
  type RunningCollector,
} from '@lantern/collector';

/** A real collector on embedded PGlite in a temp folder, that can be stopped and started again on its port. */
export interface TestCollector {
  readonly url: string;
  readonly siteId: string;
  readonly token: string;
  readonly running: RunningCollector | undefined;
  stop(): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startTestCollector(): Promise<TestCollector> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lantern-agent-collector-'));
  const configFor = (port: number) =>
    loadConfig({
      LANTERN_PORT: String(port),
      LANTERN_DATA_DIR: dataDir,
      LANTERN_LOG_LEVEL: 'silent',
    });
  let running: RunningCollector | undefined = await startCollector(configFor(0));
  const port = Number(new URL(running.url).port);
  const { siteId } = await createSite(running.app.database.db, { name: 'Example Academy' });
  const { token } = await createEnrolmentToken(running.app.database.db, { siteId, maxUses: 50 });
  return {
    url: running.url,
    siteId,
    token,
    get running() {
      return running;
    },
    stop: async () => {
      await running?.close();
      running = undefined;
    },
    restart: async () => {
      running = await startCollector(configFor(port));
    },
    cleanup: async () => {
      await running?.close();
      running = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
