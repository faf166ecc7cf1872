import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import {
  ENROL_PATH,
  EnrolRequestSchema,
  EnrolResponseSchema,
  ErrorBodySchema,
} from '@lantern/protocol';

import { enrolDevice } from './enrolment.service.ts';

/** `POST /v1/enrol`: an enrolment token buys a device its id and credential. */
export const enrolRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    ENROL_PATH,
    {
      schema: {
        body: EnrolRequestSchema,
        response: {
          201: EnrolResponseSchema,
          400: ErrorBodySchema,
          401: ErrorBodySchema,
          403: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const enrolled = await enrolDevice(app.database.db, request.body);
      request.log.info({ deviceId: enrolled.deviceId, siteId: enrolled.siteId }, 'device enrolled');
      return reply.code(201).send(enrolled);
    },
  );
};
