import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';

import { ErrorBodySchema, LanternError, type ErrorBody } from '@lantern/protocol';

import type { CollectorConfig } from './config.ts';
import { loggerOptions } from './logger.ts';
import { authRoutes } from './modules/auth/auth.routes.ts';
import { captureRoutes } from './modules/captures/capture.routes.ts';
import { deviceRoutes } from './modules/devices/device.routes.ts';
import { enrolRoutes } from './modules/devices/enrol.routes.ts';
import { healthRoutes } from './modules/health/health.routes.ts';
import { siteRoutes } from './modules/organisations/site.routes.ts';
import { policyRoutes } from './modules/policies/policy.routes.ts';
import { subjectRoutes } from './modules/subjects/subject.routes.ts';
import { userRoutes } from './modules/users/user.routes.ts';
import { authPlugin } from './plugins/auth.ts';
import { configPlugin } from './plugins/config.ts';
import { dbPlugin } from './plugins/db.ts';
import { ingestPlugin, type IngestOptions } from './plugins/ingest.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { COLLECTOR_VERSION } from './version.ts';

/** How to build the collector beyond its configuration: for benchmarks and tests. */
export interface AppOptions extends IngestOptions {
  /** Where the JSON log lines go (default stdout): the log-hygiene test reads them. */
  readonly logStream?: { write(line: string): void };
}

/** Limits every request lives within; agents' captures travel over WebSocket, not HTTP bodies. */
const HTTP_LIMITS = {
  bodyLimit: 1024 * 1024,
  requestTimeout: 30_000,
  connectionTimeout: 60_000,
} as const;

/**
 * Build the collector without listening, so tests and `server.ts` build the same app.
 * The caller owns the app and must `await app.close()` (it closes the database too).
 */
export async function buildApp(
  config: CollectorConfig,
  options: AppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config.logLevel, options.logStream),
    ...HTTP_LIMITS,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const detail = error.validation
        .slice(0, 5)
        .map((issue) => `${issue.instancePath || '(body)'}: ${issue.message}`)
        .join('; ');
      return reply.code(400).send({
        code: 'REQUEST_INVALID',
        message: `The request is invalid: ${detail}`,
      } satisfies ErrorBody);
    }
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status < 500 && error instanceof Error) {
      const code =
        error instanceof LanternError && ErrorBodySchema.shape.code.safeParse(error.code).success
          ? (error.code as ErrorBody['code'])
          : 'REQUEST_INVALID';
      return reply.code(status).send({ code, message: error.message } satisfies ErrorBody);
    }
    // 5xx: the detail goes to the log only; the body stays generic.
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({
      code: 'INTERNAL',
      message:
        'The collector hit an unexpected error; the technician can find the detail in its log.',
    } satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      code: 'NOT_FOUND',
      message: `There is nothing at ${request.method} ${request.url.split('?')[0] ?? ''}.`,
    } satisfies ErrorBody),
  );

  await app.register(configPlugin, { config });
  await app.register(dbPlugin);
  await app.register(metricsPlugin);
  // Before any route, so the OpenAPI document sees them all and every /api route is checked.
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Lantern collector API',
        version: COLLECTOR_VERSION,
        description:
          "The dashboard API. Staff sign in at POST /api/auth/login (a session cookie); every state-changing request carries the session's CSRF token in the x-lantern-csrf header.",
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(authPlugin);
  await app.register(healthRoutes);
  await app.register(enrolRoutes);
  await app.register(ingestPlugin, { ingestCommit: options.ingestCommit });
  await app.register(authRoutes);
  await app.register(siteRoutes);
  await app.register(captureRoutes);
  await app.register(deviceRoutes);
  await app.register(userRoutes);
  await app.register(subjectRoutes);
  await app.register(policyRoutes);
  app.get(
    '/api/openapi.json',
    { config: { access: { kind: 'public' } }, schema: { hide: true } },
    async () => app.swagger(),
  );
  return app;
}
