#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';

import closeWithGrace from 'close-with-grace';
import { eq } from 'drizzle-orm';

import {
  describeIssues,
  EmailSchema,
  LanternError,
  NewPasswordSchema,
  StaffRoleSchema,
} from '@lantern/protocol';

import { loadConfig } from './config.ts';
import { MIGRATIONS_DIR, openDatabase, type Db } from './db/database.ts';
import { DEMO_SITE_NAME, ensureDemo } from './modules/demo/demo.ts';
import { createEnrolmentToken } from './modules/devices/enrolment.service.ts';
import { organisations, sites } from './modules/organisations/organisation.table.ts';
import { createSite } from './modules/organisations/site.repository.ts';
import { importSubjects } from './modules/subjects/subject-import.ts';
import { createUser } from './modules/users/user.service.ts';
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
       lantern-collector create-user --email E --name N --role ROLE [--site ID]
                                     make a staff account (roles: dsl, deputy_dsl,
                                     headteacher, technician, governor, org_admin — org_admin
                                     takes no --site); the password is LANTERN_NEW_PASSWORD
                                     or a generated one, printed; prints the id on the last line
       lantern-collector import-subjects --site ID --file PATH
                                     import pupils and staff from the MIS's CSV export
                                     (PATH - reads stdin); exits 1 if any row was rejected
       lantern-collector serve --demo also make a demo site, logins and captures, and print them
       lantern-collector --help       show this help
       lantern-collector --version    show the version

Configured by environment variables (see .env.example):
  LANTERN_HOST       address to listen on (default 127.0.0.1; 0.0.0.0 for agents on the network)
  LANTERN_PORT       port to listen on (default 8080)
  LANTERN_DATA_DIR   folder for the embedded database and screenshots (default .lantern/data)
  DATABASE_URL       PostgreSQL URL; unset means embedded PGlite in the data folder
  LANTERN_LOG_LEVEL  fatal, error, warn, info (default), debug, trace or silent
`;

const ONE_SHOT_COMMANDS = new Set([
  'migrate',
  'create-site',
  'enrol-token',
  'create-user',
  'import-subjects',
]);

type Values = Partial<Record<'email' | 'name' | 'role' | 'site' | 'file', string>>;

async function createUserCommand(db: Db, values: Values): Promise<number> {
  const role = StaffRoleSchema.safeParse(values.role);
  if (!values.email || !values.name || !role.success)
    return usageError(
      `create-user needs --email, --name and --role (one of ${StaffRoleSchema.options.join(', ')}).`,
    );
  if ((role.data === 'org_admin') !== (values.site === undefined))
    return usageError(
      role.data === 'org_admin'
        ? 'org_admin is held across the organisation: leave out --site.'
        : `${role.data} is held at a site: give --site SITE_ID.`,
    );
  const email = EmailSchema.safeParse(values.email);
  if (!email.success) return usageError(`--email: ${describeIssues(email.error)}`);
  const given = process.env.LANTERN_NEW_PASSWORD;
  const password = given ?? randomBytes(15).toString('base64url');
  const checked = NewPasswordSchema.safeParse(password);
  if (!checked.success)
    return usageError(`LANTERN_NEW_PASSWORD ${describeIssues(checked.error).replace(/^: /, '')}`);
  let organisationId: string | undefined;
  if (values.site) {
    const [site] = await db.select().from(sites).where(eq(sites.id, values.site));
    if (!site) return usageError(`There is no site ${values.site} (see create-site).`);
    organisationId = site.organisationId;
  } else {
    const all = await db.select({ id: organisations.id }).from(organisations).limit(2);
    if (all.length !== 1)
      return usageError('Make a site first (create-site): the admin belongs to its organisation.');
    organisationId = all[0]?.id;
  }
  const id = await createUser(db, {
    organisationId: organisationId ?? '',
    email: email.data,
    displayName: values.name,
    password,
    roles: [{ role: role.data, siteId: values.site ?? null }],
    createdBy: null,
  });
  process.stdout.write(
    `Created ${role.data} ${email.data}.${given ? '' : ` Password (shown once; change it after signing in): ${password}`}\n${id}\n`,
  );
  return 0;
}

async function importSubjectsCommand(db: Db, values: Values): Promise<number> {
  if (!values.site || !values.file)
    return usageError(
      'import-subjects needs --site SITE_ID and --file PATH (or --file - for stdin).',
    );
  const csv = values.file === '-' ? await text(process.stdin) : await readFile(values.file, 'utf8');
  const result = await importSubjects(db, values.site, csv, null);
  for (const error of result.errors) process.stdout.write(`line ${error.line}: ${error.message}\n`);
  process.stdout.write(
    `${result.rows} rows: ${result.created} created, ${result.updated} updated, ${result.unchanged} unchanged, ${result.errors.length} rejected\n`,
  );
  return result.errors.length > 0 ? 1 : 0;
}

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
      email: { type: 'string' },
      role: { type: 'string' },
      file: { type: 'string' },
      demo: { type: 'boolean' },
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
    (!ONE_SHOT_COMMANDS.has(command) && !['serve', 'start'].includes(command)) ||
    positionals.length > 1
  ) {
    process.stderr.write(`Unknown command "${positionals.join(' ')}".\n\n${USAGE}`);
    return 2;
  }

  const config = loadConfig();
  if (ONE_SHOT_COMMANDS.has(command)) {
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
      if (command === 'create-user') return await createUserCommand(database.db, values);
      if (command === 'import-subjects') return await importSubjectsCommand(database.db, values);
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
  const demo = values.demo ? await ensureDemo(collector.app.database.db) : undefined;
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
      `  API:        ${collector.url}/api/openapi.json`,
      ...(demo
        ? [
            '',
            `Demo site "${DEMO_SITE_NAME}" (${demo.siteId}); these passwords are new at each start:`,
            ...demo.logins.map(
              (login) => `  ${login.role.padEnd(11)} ${login.email}  password: ${login.password}`,
            ),
            '  (the DSL is asked to set up an authenticator app at first sign-in)',
            `  Enrolment token for a test agent (24 h): ${demo.enrolmentToken}`,
          ]
        : []),
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
