import { z } from 'zod';

import { VersionSchema } from './common.ts';

/** `GET /healthz`: the collector is up and its database answers. A 503 carries an ErrorBody. */
export const HealthResponseSchema = z.object({
  status: z.literal('ok'),
  version: VersionSchema,
  protocolVersion: z.int().positive(),
  database: z.enum(['pglite', 'postgres']),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
