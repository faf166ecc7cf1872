import { inArray } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { ErrorBodySchema, SiteSummarySchema } from '@lantern/protocol';

import { sites } from './organisation.table.ts';

/** The sites the signed-in user holds a role at (an org admin: every site of the organisation). */
export const siteRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/sites',
    {
      config: { access: { kind: 'signed_in' } },
      schema: {
        tags: ['sites'],
        response: {
          200: z.object({ items: z.array(SiteSummarySchema) }),
          401: ErrorBodySchema,
          403: ErrorBodySchema,
        },
      },
    },
    async (request) => {
      const ids = [...(request.staff?.siteRoles.keys() ?? [])];
      if (ids.length === 0) return { items: [] };
      const rows = await app.database.db
        .select({ id: sites.id, name: sites.name, urn: sites.urn, timezone: sites.timezone })
        .from(sites)
        .where(inArray(sites.id, ids))
        .orderBy(sites.name);
      return { items: rows };
    },
  );
};
