import { createHash } from 'node:crypto';

import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLOSE_CODES, MAX_FRAME_BYTES, PROTOCOL_VERSION, type Capture } from '@lantern/protocol';
import {
  makeCapture,
  makeEnrolRequest,
  makeHeartbeat,
  makeHello,
  makeScreenshotFrame,
} from '@lantern/protocol/testing';

import { startCollector, type RunningCollector } from '../../server.ts';
import { connectAgent, type TestAgent } from '../../test-helpers/agent-client.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { captureMatches, captures } from '../captures/capture.table.ts';
import { devices } from '../devices/device.table.ts';
import { createEnrolmentToken, enrolDevice } from '../devices/enrolment.service.ts';
import { createSite } from '../organisations/site.repository.ts';
import { subjectLogins, subjects } from '../subjects/subject.table.ts';

describe.each(DATABASE_KINDS)('agent ingest on %s', (kind) => {
  let setup: TestCollectorConfig;
  let collector: RunningCollector;
  let siteId: string;
  let token: string;

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    collector = await startCollector(setup.config);
    ({ siteId } = await createSite(collector.app.database.db, { name: 'Example Academy' }));
    ({ token } = await createEnrolmentToken(collector.app.database.db, { siteId, maxUses: 100 }));
  });

  afterAll(async () => {
    await collector.close();
    await setup.cleanup();
  });

  /** A freshly enrolled device, connected and greeted. */
  async function greetedAgent(): Promise<{
    agent: TestAgent;
    deviceId: string;
    capture: (overrides?: Partial<Capture>) => Capture;
  }> {
    const enrolled = await enrolDevice(
      collector.app.database.db,
      makeEnrolRequest({ enrolmentToken: token }),
    );
    const agent = await connectAgent(collector.url, enrolled.deviceCredential);
    agent.send(makeHello({ deviceId: enrolled.deviceId }));
    const welcome = await agent.next('welcome');
    expect(welcome).toMatchObject({
      deviceId: enrolled.deviceId,
      siteId,
      protocolVersion: PROTOCOL_VERSION,
    });
    const capture = (overrides: Partial<Capture> = {}) =>
      makeCapture({ siteId, deviceId: enrolled.deviceId, ...overrides });
    return { agent, deviceId: enrolled.deviceId, capture };
  }

  const storedCount = async (ids: readonly string[]) =>
    (
      await collector.app.database.db
        .select({ id: captures.id })
        .from(captures)
        .where(inArray(captures.id, [...ids]))
    ).length;

  it('refuses an upgrade without a credential, with an unknown one, and from a revoked device', async () => {
    await expect(connectAgent(collector.url, undefined)).rejects.toMatchObject({
      statusCode: 401,
      body: expect.stringContaining('AUTH_REQUIRED'),
    });
    await expect(
      connectAgent(collector.url, 'lntdev_not_a_real_credential_00000000'),
    ).rejects.toMatchObject({ statusCode: 401, body: expect.stringContaining('AUTH_REJECTED') });
    const enrolled = await enrolDevice(
      collector.app.database.db,
      makeEnrolRequest({ enrolmentToken: token }),
    );
    await collector.app.database.db
      .update(devices)
      .set({ revokedAt: new Date() })
      .where(eq(devices.id, enrolled.deviceId));
    await expect(connectAgent(collector.url, enrolled.deviceCredential)).rejects.toMatchObject({
      statusCode: 403,
      body: expect.stringContaining('DEVICE_REVOKED'),
    });
  });

  it('wants hello first, and closes a connection whose hello names another device', async () => {
    const enrolled = await enrolDevice(
      collector.app.database.db,
      makeEnrolRequest({ enrolmentToken: token }),
    );
    const agent = await connectAgent(collector.url, enrolled.deviceCredential);
    agent.send(makeHeartbeat());
    expect(await agent.next('error')).toMatchObject({ code: 'HELLO_REQUIRED', retryable: false });
    agent.send(makeHello({ deviceId: '00000000-0000-4000-8000-000000000000' }));
    expect(await agent.next('error')).toMatchObject({ code: 'DEVICE_MISMATCH' });
    expect((await agent.closed()).code).toBe(CLOSE_CODES.authRejected);
  });

  it('stores a batch, acks it only after commit, and stores a resent batch once', async () => {
    const { agent, capture } = await greetedAgent();
    const batch = [capture(), capture(), capture()];
    agent.send({ type: 'capture', v: 1, captures: batch });
    expect((await agent.next('ack')).captureIds).toEqual(batch.map((item) => item.id));
    expect(await storedCount(batch.map((item) => item.id))).toBe(3);
    agent.send({ type: 'capture', v: 1, captures: batch });
    expect((await agent.next('ack')).captureIds).toEqual(batch.map((item) => item.id));
    expect(await storedCount(batch.map((item) => item.id))).toBe(3);
    const matches = await collector.app.database.db
      .select()
      .from(captureMatches)
      .where(
        inArray(
          captureMatches.captureId,
          batch.map((item) => item.id),
        ),
      );
    expect(matches).toHaveLength(3);
    await agent.close();
  });

  it('stores text holding NUL or half a surrogate pair, with U+FFFD in their place', async () => {
    const { agent, capture } = await greetedAgent();
    const base = capture();
    const odd = {
      ...base,
      windowTitle: 'chat\u0000 \uD83D window',
      context: `${base.context} \uDE00\u0000`,
    };
    const plain = capture();
    agent.send({ type: 'capture', v: 1, captures: [odd, plain] });
    expect((await agent.next('ack')).captureIds).toEqual([odd.id, plain.id]);
    const [stored] = await collector.app.database.db
      .select({ windowTitle: captures.windowTitle, context: captures.context })
      .from(captures)
      .where(eq(captures.id, odd.id));
    expect(stored).toEqual({
      windowTitle: 'chat\uFFFD \uFFFD window',
      context: `${base.context} \uFFFD\uFFFD`,
    });
    await agent.close();
  });

  it('answers each bad capture in a batch with its id and stores the rest', async () => {
    const { agent, capture } = await greetedAgent();
    const good = capture();
    const bad = { ...capture(), severity: 9 };
    const foreign = capture({ siteId: '11111111-1111-4111-8111-111111111111' });
    agent.send({ type: 'capture', v: 1, captures: [good, bad, foreign] });
    expect(await agent.next('error', (frame) => frame.captureId === bad.id)).toMatchObject({
      code: 'CAPTURE_INVALID',
      retryable: false,
    });
    expect(await agent.next('error', (frame) => frame.captureId === foreign.id)).toMatchObject({
      code: 'CAPTURE_SITE_MISMATCH',
    });
    expect((await agent.next('ack')).captureIds).toEqual([good.id]);
    expect(await storedCount([good.id, bad.id, foreign.id])).toBe(1);
    await agent.close();
  });

  it('keeps the socket and the server up after frames that are not JSON, unknown or oversize', async () => {
    const { agent, capture } = await greetedAgent();
    agent.send('{not json');
    expect(await agent.next('error')).toMatchObject({ code: 'FRAME_NOT_JSON' });
    agent.send({ type: 'keylog', v: 1 });
    expect(await agent.next('error')).toMatchObject({ code: 'FRAME_UNKNOWN_TYPE' });
    const item = capture();
    agent.send({ type: 'capture', v: 1, captures: [item] });
    expect((await agent.next('ack')).captureIds).toEqual([item.id]);
    expect(collector.app.ingestCounters.rejected.get('FRAME_NOT_JSON')).toBeGreaterThanOrEqual(1);

    // Past the frame limit the WebSocket layer closes this socket (1009) without buffering it.
    agent.send('x'.repeat(MAX_FRAME_BYTES + 1));
    expect((await agent.closed()).code).toBe(CLOSE_CODES.messageTooBig);
    const { agent: other } = await greetedAgent();
    await other.close();
  });

  it('takes a screenshot by hash before the capture that references it', async () => {
    const { agent, capture } = await greetedAgent();
    const bytes = Buffer.from(`synthetic image ${Math.random()}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const withShot = capture({
      screenshot: {
        status: 'attached',
        sha256,
        mediaType: 'image/webp',
        bytes: bytes.byteLength,
        width: 640,
        height: 400,
        sensitive: false,
      },
    });
    agent.send({ type: 'capture', v: 1, captures: [withShot] });
    expect(await agent.next('error', (frame) => frame.captureId === withShot.id)).toMatchObject({
      code: 'SCREENSHOT_MISSING',
      retryable: true,
      sha256,
    });

    agent.send(
      makeScreenshotFrame({ sha256, data: Buffer.from('something else').toString('base64') }),
    );
    expect(await agent.next('error')).toMatchObject({ code: 'SCREENSHOT_HASH_MISMATCH' });
    agent.send(makeScreenshotFrame({ sha256, data: bytes.toString('base64') }));
    expect(await agent.next('screenshot_ack')).toMatchObject({ sha256 });
    expect(Buffer.from((await collector.app.blobStore.get(sha256)) ?? [])).toEqual(bytes);

    agent.send({ type: 'capture', v: 1, captures: [withShot] });
    expect((await agent.next('ack')).captureIds).toEqual([withShot.id]);
    await agent.close();
  });

  it('records a heartbeat on the device, and a login name finds its pupil', async () => {
    const { agent, deviceId, capture } = await greetedAgent();
    agent.send(makeHeartbeat({ loginName: 'pupil.test', session: 'locked' }));
    const [subject] = await collector.app.database.db
      .insert(subjects)
      .values({
        siteId,
        kind: 'pupil',
        misId: `UPN-${deviceId}`,
        givenName: 'Test',
        familyName: 'Pupil',
        yearGroup: '9',
      })
      .returning({ id: subjects.id });
    await collector.app.database.db
      .insert(subjectLogins)
      .values({ siteId, loginName: `p.${deviceId.slice(0, 8)}`, subjectId: subject?.id ?? '' });
    const item = capture({ loginName: `SCHOOL\\P.${deviceId.slice(0, 8).toUpperCase()}` });
    agent.send({ type: 'capture', v: 1, captures: [item] });
    await agent.next('ack');
    const [device] = await collector.app.database.db
      .select()
      .from(devices)
      .where(eq(devices.id, deviceId));
    expect(device).toMatchObject({ lastLoginName: 'pupil.test', lastSession: 'locked' });
    expect(device?.lastSeenAt).toBeInstanceOf(Date);
    const [stored] = await collector.app.database.db
      .select()
      .from(captures)
      .where(eq(captures.id, item.id));
    expect(stored).toMatchObject({ subjectId: subject?.id, subjectKind: 'pupil' });
    await agent.close();
  });
});

describe('collector metrics and readiness', () => {
  it('reports ingest, rejections and connected agents on /metrics, and ready on /readyz', async () => {
    const setup = await makeTestConfig('pglite');
    const collector = await startCollector(setup.config);
    try {
      const db = collector.app.database.db;
      const { siteId } = await createSite(db, { name: 'Metrics School' });
      const { token } = await createEnrolmentToken(db, { siteId });
      const enrolled = await enrolDevice(db, makeEnrolRequest({ enrolmentToken: token }));
      const agent = await connectAgent(collector.url, enrolled.deviceCredential);
      agent.send(makeHello({ deviceId: enrolled.deviceId }));
      await agent.next('welcome');
      agent.send('nonsense');
      await agent.next('error');
      agent.send({
        type: 'capture',
        v: 1,
        captures: [makeCapture({ siteId, deviceId: enrolled.deviceId })],
      });
      await agent.next('ack');
      const metrics = await (await fetch(`${collector.url}/metrics`)).text();
      expect(metrics).toMatch(/^lantern_captures_stored_total 1$/m);
      expect(metrics).toMatch(/^lantern_frames_rejected_total\{code="FRAME_NOT_JSON"\} 1$/m);
      expect(metrics).toMatch(/^lantern_agents_connected 1$/m);
      expect(metrics).toMatch(/^lantern_capture_ack_seconds_count 1$/m);
      expect((await fetch(`${collector.url}/readyz`)).status).toBe(200);
      await agent.close();
    } finally {
      await collector.close();
      await setup.cleanup();
    }
  });
});
