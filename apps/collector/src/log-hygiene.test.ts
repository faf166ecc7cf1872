/**
 * No capture content, window title, login name, token, credential or password reaches the
 * logs: plant them in a full run (enrolment, ingest with good and bad frames, staff
 * sign-in and reading the capture) at the most verbose level, then search every log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CSRF_HEADER, SESSION_COOKIE } from '@lantern/protocol';
import { makeCapture, makeEnrolRequest, makeHello } from '@lantern/protocol/testing';

import { loadConfig } from './config.ts';
import { createEnrolmentToken } from './modules/devices/enrolment.service.ts';
import { createSite } from './modules/organisations/site.repository.ts';
import { startCollector, type RunningCollector } from './server.ts';
import { connectAgent } from './test-helpers/agent-client.ts';
import { makeTestConfig, type TestCollectorConfig } from './test-helpers/databases.ts';
import { addStaff } from './test-helpers/staff.ts';

const PLANTED = {
  context: 'zebracontext nobody would notice if i was gone',
  windowTitle: 'zebratitle private diary - Notepad',
  loginName: 'zebralogin',
  badFrameText: 'zebrabadframe i want to hurt myself',
  notJson: '{"type":"capture" zebranotjson',
};

describe('the collector’s logs', () => {
  let setup: TestCollectorConfig;
  let collector: RunningCollector;
  const lines: string[] = [];
  const secrets: string[] = [];

  beforeAll(async () => {
    setup = await makeTestConfig('pglite');
    const config = loadConfig({
      LANTERN_PORT: '0',
      LANTERN_DATA_DIR: setup.config.dataDir,
      LANTERN_LOG_LEVEL: 'trace',
    });
    collector = await startCollector(config, {
      logStream: { write: (line) => lines.push(line) },
    });
    const db = collector.app.database.db;
    const { siteId, organisationId } = await createSite(db, { name: 'Example Academy' });
    const { token } = await createEnrolmentToken(db, { siteId });
    secrets.push(token);

    // A device enrols and streams a good capture, a bad one and a broken frame.
    const enrolled = (await (
      await fetch(`${collector.url}/v1/enrol`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(makeEnrolRequest({ enrolmentToken: token })),
      })
    ).json()) as { deviceId: string; deviceCredential: string };
    secrets.push(enrolled.deviceCredential);
    const agent = await connectAgent(collector.url, enrolled.deviceCredential);
    agent.send(makeHello({ deviceId: enrolled.deviceId }));
    await agent.next('welcome');
    const capture = makeCapture({
      siteId,
      deviceId: enrolled.deviceId,
      context: PLANTED.context,
      windowTitle: PLANTED.windowTitle,
      loginName: PLANTED.loginName,
    });
    agent.send({ type: 'capture', v: 1, captures: [capture] });
    await agent.next('ack');
    agent.send({
      type: 'capture',
      v: 1,
      captures: [{ ...capture, id: 'not-a-uuid', context: PLANTED.badFrameText }],
    });
    await agent.next('error');
    agent.send(PLANTED.notJson);
    await agent.next('error');
    await agent.close();

    // A DSL signs in (a wrong password first) and reads the capture.
    const dsl = await addStaff(collector.app, {
      organisationId,
      roles: [{ role: 'dsl', siteId }],
      totp: true,
    });
    secrets.push(dsl.password, dsl.totpSecret ?? '');
    await fetch(`${collector.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: dsl.email, password: `${dsl.password}-wrong` }),
    });
    const { totpCode } = await import('./test-helpers/staff.ts');
    const login = await fetch(`${collector.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: dsl.email,
        password: dsl.password,
        totp: totpCode(dsl.totpSecret ?? ''),
      }),
    });
    const session = (await login.json()) as { csrfToken: string };
    const cookie = /lantern_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? '';
    secrets.push(cookie, session.csrfToken);
    const read = await fetch(`${collector.url}/api/captures/${capture.id}`, {
      headers: { cookie: `${SESSION_COOKIE}=${cookie}`, [CSRF_HEADER]: session.csrfToken },
    });
    expect(await read.text()).toContain(PLANTED.context);
  });

  afterAll(async () => {
    await collector.close();
    await setup.cleanup();
  });

  it('were written (the run was logged at all)', () => {
    const all = lines.join('');
    expect(all).toMatch(/"url":"\/api\/captures\//);
    expect(all).toContain('"msg":"captures stored"');
    expect(all).toContain('"msg":"device enrolled"');
  });

  it.each(Object.entries(PLANTED))('hold no %s', (_field, planted) => {
    const word = planted.split(' ')[0]?.replace(/[^a-z]/g, '') ?? planted;
    expect(lines.filter((line) => line.includes(word))).toEqual([]);
  });

  it('hold no token, credential, password, session cookie or TOTP secret', () => {
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(lines.filter((line) => line.includes(secret))).toEqual([]);
    }
  });
});
