import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HealthResponseSchema, ErrorBodySchema } from '@lantern/protocol';

import { buildApp } from './app.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from './test-helpers/databases.ts';

describe.each(DATABASE_KINDS)('collector app on %s', (kind) => {
  let setup: TestCollectorConfig;
  let app: FastifyInstance;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    app = await buildApp(setup.config);
  });

  afterAll(async () => {
    await app.close();
    await setup.cleanup();
  });

  it('answers /healthz with its version and database once the database answers', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    const body = HealthResponseSchema.parse(response.json());
    expect(body).toMatchObject({ status: 'ok', protocolVersion: 1, database: kind });
  });

  it('answers an unknown path with a 404 body saying what was asked for', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/nothing?x=1' });
    expect(response.statusCode).toBe(404);
    expect(ErrorBodySchema.parse(response.json())).toEqual({
      code: 'NOT_FOUND',
      message: 'There is nothing at GET /v1/nothing.',
    });
  });

  it('reports 503 from /healthz when its database stops answering', async () => {
    await app.database.close();
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(503);
    expect(ErrorBodySchema.parse(response.json()).code).toBe('SERVICE_UNAVAILABLE');
  });
});
