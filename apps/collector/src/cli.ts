#!/usr/bin/env node
import { parseArgs } from 'node:util';

import closeWithGrace from 'close-with-grace';

import { LanternError } from '@lantern/protocol';

import { loadConfig } from './config.ts';
import { MIGRATIONS_DIR, openDatabase } from './db/database.ts';
import { createEnrolmentToken } from './modules/devices/enrolment.service.ts';
import { createSite } from './modules/organisations/site.repository.ts';
import { startCollector } from './server.ts';
import { COLLECTOR_VERSION } from './version.ts';

const USAGE = `lantern-collector ${COLLECTOR_VERSION}

Usage: lantern-collector [serve]      migrate the database and start the collector (the default;
                                     "start" works too)
       lantern-collector migrate      bring the database schema up to date, then exit
       lantern-collector create-site --name NAME [--urn URN]
                                     create a school; prints its id on the last line
       lantern-collector enrol-token --site ID [--uses N] [--days D] [--label TEXT]
                                     make an enrolment token for a rollout (default 500
                                     devices, 7 days); prints the token on the last line
       lantern-collector --help       show this help
       lantern-collector --version    show the version

Configured by environment variables (see .env.example):
  LANTERN_HOST       address to listen on (default 127.0.0.1; 0.0.0.0 for agents on the network)
  LANTERN_PORT       port to listen on (default 8080)
  LANTERN_DATA_DIR   folder for the embedded database and screenshots (default .lantern/data)
  DATABASE_URL       PostgreSQL URL; unset means embedded PGlite in the data folder
  LANTERN_LOG_LEVEL  fatal, error, warn, info (default), debug, trace or silent
`;

function usageError(message: string): number {
  process.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      name: { type: 'string' },
      urn: { type: 'string' },
      site: { type: 'string' },
      uses: { type: 'string' },
      days: { type: 'string' },
      label: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${COLLECTOR_VERSION}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'serve';
  if (
    !['serve', 'start', 'migrate', 'create-site', 'enrol-token'].includes(command) ||
    positionals.length > 1
  ) {
    process.stderr.write(`Unknown command "${positionals.join(' ')}".\n\n${USAGE}`);
    return 2;
  }

  const config = loadConfig();
  if (command === 'migrate' || command === 'create-site' || command === 'enrol-token') {
    const database = await openDatabase(config.database);
    try {
      await database.migrate();
      if (command === 'migrate') {
        process.stdout.write(`The database schema is up to date (${MIGRATIONS_DIR}).\n`);
        return 0;
      }
      if (command === 'create-site') {
        if (!values.name) return usageError('create-site needs --name "School name".');
        const site = await createSite(database.db, {
          name: values.name,
          ...(values.urn ? { urn: values.urn } : {}),
        });
        process.stdout.write(
          `Created site "${values.name}" in organisation ${site.organisationId}.\n${site.siteId}\n`,
        );
        return 0;
      }
      if (!values.site) return usageError('enrol-token needs --site SITE_ID (see create-site).');
      const uses = values.uses === undefined ? undefined : Number(values.uses);
      const days = values.days === undefined ? undefined : Number(values.days);
      if (uses !== undefined && (!Number.isInteger(uses) || uses < 1))
        return usageError('--uses must be a whole number of devices, 1 or more.');
      if (days !== undefined && !(days > 0 && days <= 365))
        return usageError('--days must be between 0 and 365.');
      const token = await createEnrolmentToken(database.db, {
        siteId: values.site,
        ...(uses === undefined ? {} : { maxUses: uses }),
        ...(days === undefined ? {} : { lifetimeMs: days * 24 * 60 * 60 * 1000 }),
        ...(values.label ? { label: values.label } : {}),
      });
      process.stdout.write(
        `Enrolment token for site ${values.site}, valid until ${token.expiresAt.toISOString()}. It is shown once: put it in the installer (ENROL_TOKEN).\n${token.token}\n`,
      );
      return 0;
    } finally {
      await database.close();
    }
  }
  const collector = await startCollector(config);
  // Signals are handled before anything is printed: whoever reads "is running" may stop us at once.
  closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
    if (err) collector.app.log.error({ err }, 'stopping after an unexpected error');
    else collector.app.log.info({ signal }, 'stopping');
    await collector.close();
  });
  const database =
    config.database.kind === 'pglite'
      ? `embedded PGlite in ${config.database.dir}`
      : `PostgreSQL at ${new URL(config.database.url).host}`;
  process.stdout.write(
    [
      '',
      `Lantern collector ${COLLECTOR_VERSION} is running.`,
      `  Collector:  ${collector.url}`,
      `  Health:     ${collector.url}/healthz`,
      `  Database:   ${database}`,
      '',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    // A LanternError's message already says what to do; anything else is a bug worth a stack.
    const message = error instanceof LanternError ? `${error.code}: ${error.message}` : error;
    console.error('lantern-collector:', message);
    process.exitCode = 1;
  },
);
