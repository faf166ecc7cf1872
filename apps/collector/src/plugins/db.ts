import fp from 'fastify-plugin';

import { openDatabase, type Database } from '../db/database.ts';
import { CollectorError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The collector's database; closed when the app closes. */
    database: Database;
  }
}

/** Opens the configured database before the app is ready and closes it when the app closes. */
export const dbPlugin = fp(
  async (app) => {
    const database = await openDatabase(app.config.database, {
      onIdleError: (error) =>
        app.log.warn({ err: error }, 'database connection lost; reconnecting'),
    });
    try {
      await database.migrate();
    } catch (error) {
      await database.close();
      throw new CollectorError(
        'DATABASE_MIGRATION_FAILED',
        `Could not bring the database schema up to date: ${(error as Error).message}. The collector did not start; the database is unchanged past the last migration that completed.`,
        { cause: error },
      );
    }
    app.decorate('database', database);
    app.addHook('onClose', async () => {
      await database.close();
    });
  },
  { name: 'db', dependencies: ['config'] },
);
