#!/usr/bin/env node
import { parseArgs } from 'node:util';

import closeWithGrace from 'close-with-grace';

import { LanternError } from '@lantern/protocol';

import { loadConfig } from './config.ts';
import { MIGRATIONS_DIR, openDatabase } from './db/database.ts';
import { startCollector } from './server.ts';
import { COLLECTOR_VERSION } from './version.ts';

const USAGE = `lantern-collector ${COLLECTOR_VERSION}

Usage: lantern-collector [serve]      migrate the database and start the collector (the default;
                                     "start" works too)
       lantern-collector migrate      bring the database schema up to date, then exit
       lantern-collector --help       show this help
       lantern-collector --version    show the version

Configured by environment variables (see .env.example):
  LANTERN_HOST       address to listen on (default 127.0.0.1; 0.0.0.0 for agents on the network)
  LANTERN_PORT       port to listen on (default 8080)
  LANTERN_DATA_DIR   folder for the embedded database and screenshots (default .lantern/data)
  DATABASE_URL       PostgreSQL URL; unset means embedded PGlite in the data folder
  LANTERN_LOG_LEVEL  fatal, error, warn, info (default), debug, trace or silent
`;

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
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
  if (!['serve', 'start', 'migrate'].includes(command) || positionals.length > 1) {
    process.stderr.write(`Unknown command "${positionals.join(' ')}".\n\n${USAGE}`);
    return 2;
  }

  const config = loadConfig();
  if (command === 'migrate') {
    const database = await openDatabase(config.database);
    try {
      await database.migrate();
    } finally {
      await database.close();
    }
    process.stdout.write(`The database schema is up to date (${MIGRATIONS_DIR}).\n`);
    return 0;
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
    console.error('lantern-collector could not start.', message);
    process.exitCode = 1;
  },
);
