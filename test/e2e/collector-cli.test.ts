import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { EnrolResponseSchema, HealthResponseSchema } from '@lantern/protocol';
import { makeEnrolRequest } from '@lantern/protocol/testing';

import { builtProgram, startNode, type RunningProcess } from '../helpers/process.ts';

const cli = () => builtProgram('apps/collector/dist/cli.js');

describe('lantern-collector (built CLI, as npm start runs it)', () => {
  let dataDir: string;
  let running: RunningProcess | undefined;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-'));
  });

  afterEach(async () => {
    await running?.stop('SIGKILL');
    running = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts on embedded PGlite, prints where to go, answers /healthz and stops cleanly on SIGTERM', async () => {
    running = startNode(cli(), ['serve'], {
      PATH: process.env.PATH,
      LANTERN_PORT: '0',
      LANTERN_DATA_DIR: dataDir,
      LANTERN_LOG_LEVEL: 'warn',
    });
    const [, healthUrl] = await running.waitFor(/Health:\s+(http:\/\/\S+)/);
    expect(running.output()).toContain(`embedded PGlite in ${join(dataDir, 'pglite')}`);
    const response = await fetch(healthUrl ?? '');
    expect(response.status).toBe(200);
    expect(HealthResponseSchema.parse(await response.json())).toMatchObject({
      status: 'ok',
      database: 'pglite',
    });
    expect(await running.stop('SIGTERM')).toBe(0);
  });

  it('keeps its data across a restart in the same data folder', async () => {
    const env = {
      PATH: process.env.PATH,
      LANTERN_PORT: '0',
      LANTERN_DATA_DIR: dataDir,
      LANTERN_LOG_LEVEL: 'warn',
    };
    running = startNode(cli(), [], env);
    await running.waitFor(/Health:\s+(http:\/\/\S+)/);
    expect(await running.stop()).toBe(0);
    running = startNode(cli(), [], env);
    const [, healthUrl] = await running.waitFor(/Health:\s+(http:\/\/\S+)/);
    expect((await fetch(healthUrl ?? '')).status).toBe(200);
  });

  it('refuses bad configuration with a message naming the variable, and exits 1', async () => {
    running = startNode(cli(), ['serve'], {
      PATH: process.env.PATH,
      LANTERN_PORT: 'eighty',
      LANTERN_DATA_DIR: dataDir,
    });
    expect(await running.exited()).toBe(1);
    expect(running.output()).toMatch(/CONFIG_INVALID: .*LANTERN_PORT: must be a number/);
  });

  it('migrates a database and exits with `migrate`', async () => {
    running = startNode(cli(), ['migrate'], {
      PATH: process.env.PATH,
      LANTERN_DATA_DIR: dataDir,
      LANTERN_LOG_LEVEL: 'warn',
    });
    expect(await running.exited()).toBe(0);
    expect(running.output()).toContain('The database schema is up to date');
  });

  it('creates a site and an enrolment token for scripts (the last line is the id or token), which enrols a device', async () => {
    const env = {
      PATH: process.env.PATH,
      LANTERN_PORT: '0',
      LANTERN_DATA_DIR: dataDir,
      LANTERN_LOG_LEVEL: 'warn',
    };
    const lastLine = (output: string) => output.trim().split('\n').at(-1) ?? '';
    running = startNode(cli(), ['create-site', '--name', 'Example Academy'], env);
    expect(await running.exited()).toBe(0);
    const siteId = lastLine(running.output());
    expect(siteId).toMatch(/^[0-9a-f-]{36}$/);
    running = startNode(
      cli(),
      ['enrol-token', '--site', siteId, '--uses', '2', '--days', '1'],
      env,
    );
    expect(await running.exited()).toBe(0);
    const token = lastLine(running.output());
    expect(token).toMatch(/^lntenr_[A-Za-z0-9_-]{43}$/);

    running = startNode(cli(), ['serve'], env);
    const [, healthUrl] = await running.waitFor(/Health:\s+(http:\/\/\S+)/);
    const response = await fetch((healthUrl ?? '').replace('/healthz', '/v1/enrol'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...makeEnrolRequest(), enrolmentToken: token }),
    });
    expect(response.status).toBe(201);
    expect(EnrolResponseSchema.parse(await response.json()).siteId).toBe(siteId);
    expect(running.output()).not.toContain(token);
  });

  it('makes a staff account and imports the MIS export from the command line; the account signs in', async () => {
    const env = {
      PATH: process.env.PATH,
      LANTERN_PORT: '0',
      LANTERN_DATA_DIR: dataDir,
      LANTERN_LOG_LEVEL: 'warn',
    };
    const lastLine = (output: string) => output.trim().split('\n').at(-1) ?? '';
    running = startNode(cli(), ['create-site', '--name', 'Example Academy'], env);
    expect(await running.exited()).toBe(0);
    const siteId = lastLine(running.output());
    running = startNode(
      cli(),
      [
        'create-user',
        '--email',
        'Tech@School.example',
        '--name',
        'Pat',
        '--role',
        'technician',
        '--site',
        siteId,
      ],
      env,
    );
    expect(await running.exited()).toBe(0);
    const password = /Password \(shown once[^)]*\): (\S+)/.exec(running.output())?.[1] ?? '';
    expect(lastLine(running.output())).toMatch(/^[0-9a-f-]{36}$/);
    running = startNode(
      cli(),
      ['create-user', '--email', 'x@school.example', '--name', 'X', '--role', 'dsl'],
      env,
    );
    expect(await running.exited()).toBe(2);
    expect(running.output()).toMatch(/dsl is held at a site: give --site SITE_ID/);

    const csv = join(dataDir, 'pupils.csv');
    await writeFile(csv, 'UPN,Forename,Surname,Year\nA1,Sam,Jones,Year 7\nA2,,Khan,Year 8\n');
    running = startNode(cli(), ['import-subjects', '--site', siteId, '--file', csv], env);
    expect(await running.exited()).toBe(1);
    expect(running.output()).toContain('line 3: givenName: is empty');
    expect(lastLine(running.output())).toBe(
      '2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected',
    );

    running = startNode(cli(), ['serve'], env);
    const [, healthUrl] = await running.waitFor(/Health:\s+(http:\/\/\S+)/);
    const login = await fetch((healthUrl ?? '').replace('/healthz', '/api/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'tech@school.example', password }),
    });
    expect(login.status).toBe(200);
    expect(running.output()).not.toContain(password);
  });

  it('starts with --demo as npm start does: a demo site, logins that sign in, and the API document', async () => {
    running = startNode(cli(), ['serve', '--demo'], {
      PATH: process.env.PATH,
      LANTERN_PORT: '0',
      LANTERN_DATA_DIR: dataDir,
      LANTERN_LOG_LEVEL: 'warn',
    });
    const [, apiUrl] = await running.waitFor(/API:\s+(http:\/\/\S+)/);
    const [, email, password] = await running.waitFor(/technician\s+(\S+)\s+password: (\S+)/);
    expect(running.output()).toMatch(/Demo site "Demo Academy"/);
    const document = (await (await fetch(apiUrl ?? '')).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(document.paths)).toContain('/api/sites/{siteId}/captures');
    const login = await fetch((apiUrl ?? '').replace('/openapi.json', '/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
  });

  it('answers --help with usage, and an unknown command with usage and exit 2', async () => {
    running = startNode(cli(), ['--help'], { PATH: process.env.PATH });
    expect(await running.exited()).toBe(0);
    expect(running.output()).toMatch(/Usage: lantern-collector \[serve\]/);
    running = startNode(cli(), ['frobnicate'], { PATH: process.env.PATH });
    expect(await running.exited()).toBe(2);
    expect(running.output()).toMatch(/Unknown command "frobnicate"/);
  });
});
