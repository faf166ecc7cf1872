import type { FastifyInstance } from 'fastify';

import { buildApp, type AppOptions } from './app.ts';
import type { CollectorConfig } from './config.ts';
import { CollectorError } from './errors.ts';

/** A listening collector. `close()` stops accepting, finishes requests and closes the database. */
export interface RunningCollector {
  readonly app: FastifyInstance;
  /** The base URL it answers on, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Build the app and listen on the configured host and port (0 picks a free port).
 * @throws CollectorError `PORT_IN_USE`, and whatever `buildApp` throws (bad database…).
 */
export async function startCollector(
  config: CollectorConfig,
  options: AppOptions = {},
): Promise<RunningCollector> {
  const app = await buildApp(config, options);
  try {
    // A deep accept queue: after an outage thousands of agents reconnect at once, and
    // Node's default of 511 makes the rest wait out SYN retries of several seconds.
    await app.listen({ host: config.host, port: config.port, backlog: 4096 });
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CollectorError(
        'PORT_IN_USE',
        `Port ${config.port} on ${config.host} is already in use. Stop whatever is using it, or set LANTERN_PORT to a free port.`,
        { cause: error },
      );
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    close: () => (closing ??= app.close()),
  };
}
