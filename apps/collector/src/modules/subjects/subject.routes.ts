import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { SubjectImportResultSchema, UuidSchema } from '@lantern/protocol';

import { API_ERROR_RESPONSES } from '../../errors.ts';
import { importSubjects } from './subject-import.ts';

const errors = API_ERROR_RESPONSES;

/** Importing the school's MIS export of pupils and staff. */
export const subjectRoutes: FastifyPluginAsyncZod = async (app) => {
  // The MIS export arrives as it is: a CSV body, up to 10 MB.
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 },
    (_request, body, done) => {
      done(null, body);
    },
  );

  app.post(
    '/api/sites/:siteId/subjects/import',
    {
      config: { access: { kind: 'site', permission: 'subjects.import' } },
      bodyLimit: 10 * 1024 * 1024,
      schema: {
        tags: ['subjects'],
        params: z.object({ siteId: UuidSchema }),
        body: z.string({ message: 'send the MIS export as a text/csv body' }),
        response: { 200: SubjectImportResultSchema, ...errors },
      },
    },
    async (request) =>
      importSubjects(
        app.database.db,
        request.params.siteId,
        request.body,
        request.staff?.userId ?? null,
      ),
  );
};
