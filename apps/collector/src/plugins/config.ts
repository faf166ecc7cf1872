import fp from 'fastify-plugin';

import type { CollectorConfig } from '../config.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The collector's configuration, parsed once at boot. */
    config: CollectorConfig;
  }
}

/** Makes the parsed configuration available to every plugin as `app.config`. */
export const configPlugin = fp<{ config: CollectorConfig }>(
  async (app, options) => {
    app.decorate('config', options.config);
  },
  { name: 'config' },
);
