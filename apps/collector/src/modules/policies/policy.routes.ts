import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { PolicyChangeSchema, PolicySchema, UuidSchema } from '@lantern/protocol';

import { API_ERROR_RESPONSES } from '../../errors.ts';
import { changePolicy, currentPolicy } from './policy.service.ts';

const errors = API_ERROR_RESPONSES;

/** A site's monitoring policy: read it, and change it (logged, and pushed to its devices). */
export const policyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/sites/:siteId/policy',
    {
      config: { access: { kind: 'site', permission: 'policy.read' } },
      schema: {
        tags: ['policy'],
        params: z.object({ siteId: UuidSchema }),
        response: { 200: PolicySchema, ...errors },
      },
    },
    async (request) => currentPolicy(app.database.db, request.params.siteId),
  );

  app.put(
    '/api/sites/:siteId/policy',
    {
      config: { access: { kind: 'site', permission: 'policy.manage' } },
      schema: {
        tags: ['policy'],
        params: z.object({ siteId: UuidSchema }),
        body: PolicyChangeSchema,
        response: { 200: PolicySchema, ...errors },
      },
    },
    async (request) =>
      changePolicy(
        app.database.db,
        request.params.siteId,
        request.body,
        request.staff?.userId ?? null,
      ),
  );
};
