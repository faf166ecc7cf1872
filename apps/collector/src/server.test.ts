import { once } from 'node:events';
import { createServer } from 'node:net';

import { describe, expect, it } from 'vitest';

import { HealthResponseSchema } from '@lantern/protocol';

import { startCollector } from './server.ts';
import { makeTestConfig } from './test-helpers/databases.ts';

describe('startCollector', () => {
  it('listens on a free port and answers over real HTTP until closed', async () => {
    const setup = await makeTestConfig('pglite');
    const collector = await startCollector(setup.config);
    try {
      const response = await fetch(`${collector.url}/healthz`);
      expect(response.status).toBe(200);
      expect(HealthResponseSchema.parse(await response.json()).database).toBe('pglite');
    } finally {
      await collector.close();
      await collector.close(); // closing twice is safe
      await setup.cleanup();
    }
    await expect(fetch(`${collector.url}/healthz`)).rejects.toThrow();
  });

  it('says which port is taken and how to choose another', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const setup = await makeTestConfig('pglite');
    try {
      await expect(startCollector({ ...setup.config, port })).rejects.toMatchObject({
        code: 'PORT_IN_USE',
        message: expect.stringContaining(`Port ${port} on 127.0.0.1 is already in use`),
      });
    } finally {
      blocker.close();
      await setup.cleanup();
    }
  });

  it('fails at start with a clear message when PostgreSQL cannot be reached', async () => {
    const setup = await makeTestConfig('pglite');
    try {
      await expect(
        startCollector({
          ...setup.config,
          database: { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/none' },
        }),
      ).rejects.toMatchObject({
        code: 'DATABASE_UNAVAILABLE',
        message: expect.stringContaining('Cannot reach PostgreSQL at 127.0.0.1:1/none'),
      });
    } finally {
      await setup.cleanup();
    }
  });
});
