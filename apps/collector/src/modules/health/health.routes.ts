import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import { ErrorBodySchema, HealthResponseSchema, PROTOCOL_VERSION } from '@lantern/protocol';

import { COLLECTOR_VERSION } from '../../version.ts';

/**
 * `GET /healthz` (alive and the database answers) and `GET /readyz` (and not shutting
 * down: a load balancer stops sending agents here before the sockets close).
 */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.get(
    '/readyz',
    { schema: { response: { 200: HealthResponseSchema, 503: ErrorBodySchema } }, logLevel: 'warn' },
    async (_request, reply) => {
      if (closing) {
        return reply
          .code(503)
          .send({ code: 'SERVICE_UNAVAILABLE', message: 'This collector is shutting down.' });
      }
      try {
        await app.database.ping({ signal: AbortSignal.timeout(2_000) });
      } catch {
        return reply.code(503).send({
          code: 'SERVICE_UNAVAILABLE',
          message: 'The database does not answer: not ready for agents.',
        });
      }
      return {
        status: 'ok' as const,
        version: COLLECTOR_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        database: app.database.kind,
      };
    },
  );
  app.get(
    '/healthz',
    {
      schema: { response: { 200: HealthResponseSchema, 503: ErrorBodySchema } },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      try {
        await app.database.ping({ signal: AbortSignal.timeout(2_000) });
      } catch (error) {
        app.log.error({ err: error }, 'health check: the database does not answer');
        return reply.code(503).send({
          code: 'SERVICE_UNAVAILABLE',
          message:
            'The collector is running but its database does not answer; see the collector log.',
        });
      }
      return {
        status: 'ok' as const,
        version: COLLECTOR_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        database: app.database.kind,
      };
    },
  );
};
