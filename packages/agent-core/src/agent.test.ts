import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { Agent } from './agent.ts';
import { encodeScreenshot } from './screenshot/index.ts';
import { PushSource } from './sources/push-source.ts';
import type { ActiveWindow, SessionInfo, TextEdit } from './sources/source.ts';
import { startTestCollector, type TestCollector } from './test-helpers/collector.ts';

const WINDOW: ActiveWindow = {
  id: '0x42',
  title: 'Untitled - Notepad',
  appName: 'Notepad',
  appId: 'notepad.exe',
  pid: 4242,
};

/** Waits until `probe` gives a value (vitest's vi.waitFor polls it), failing with `what`. */
async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined) throw new Error(`still waiting for ${what}`);
      return value;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

describe('the agent, end to end with a real collector', () => {
  let collector: TestCollector;
  let dataDir: string;

  beforeAll(async () => {
    collector = await startTestCollector();
    dataDir = await mkdtemp(join(tmpdir(), 'lantern-agent-'));
  });

  afterAll(async () => {
    await collector.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  const sources = () => ({
    window: new PushSource<ActiveWindow>(),
    typing: new PushSource<TextEdit>(),
    clipboard: new PushSource<string>(),
    session: new PushSource<SessionInfo>(),
  });

  const rows = async (sql: string) => {
    const db = collector.running?.app.database.db;
    if (!db) throw new Error('the collector is not running');
    return (await db.execute<Record<string, unknown>>(sql)).rows;
  };

  it('enrols, then turns a concerning sentence into a capture with a screenshot at the collector', async () => {
    const pushed = sources();
    const agent = await Agent.start({
      dataDir,
      agentVersion: '0.1.0',
      collectorUrl: collector.url,
      enrolmentToken: collector.token,
      sources: pushed,
      // A picture of a screen as the grabber returns one, through the real encoder.
      screenshot: async (options) =>
        encodeScreenshot(
          { width: 800, height: 500, channels: 3, pixels: new Uint8Array(800 * 500 * 3).fill(90) },
          options,
        ),
    });
    pushed.session.push({ loginName: 'jsmith', state: 'active' });
    pushed.window.push(WINDOW);
    for (const char of 'honestly nobody would even notice if i was gone')
      pushed.typing.push({ kind: 'text', text: char });
    pushed.typing.push({ kind: 'boundary', reason: 'enter' });
    pushed.typing.push({ kind: 'text', text: 'the homework is due on friday' });
    pushed.typing.push({ kind: 'boundary', reason: 'enter' });

    const [row] = await until(async () => {
      const found = await rows(
        `select id, source, login_name, categories, screenshot_sha256, context from captures where device_id = '${agent.identity.deviceId}'`,
      );
      return found.length > 0 ? found : undefined;
    }, 'the capture to reach the collector');
    expect(row).toMatchObject({
      source: 'typed',
      login_name: 'jsmith',
      context: 'honestly nobody would even notice if i was gone',
    });
    expect(row?.categories).toContain('suicide');
    expect(row?.screenshot_sha256).toMatch(/^[0-9a-f]{64}$/);
    await until(async () => (agent.pendingCount === 0 ? true : undefined), 'the spool to drain');
    expect(
      await rows(
        `select sha256 from screenshots where sha256 = '${String(row?.screenshot_sha256)}'`,
      ),
    ).toHaveLength(1);
    await agent.stop();
    // Only the concerning sentence was kept.
    expect(
      await rows(`select id from captures where device_id = '${agent.identity.deviceId}'`),
    ).toHaveLength(1);
  });

  it('keeps captures made while the collector is down, and sends them once it is back, once each', async () => {
    const pushed = sources();
    // The same data folder: the identity is kept, no enrolment token needed.
    const agent = await Agent.start({ dataDir, agentVersion: '0.1.0', sources: pushed });
    pushed.session.push({ loginName: 'jsmith', state: 'active' });
    await collector.stop();
    pushed.window.push({ ...WINDOW, id: '0x43' });
    for (let index = 0; index < 5; index += 1)
      pushed.clipboard.push(`where can i get a blade to cut myself ${index}`);
    await until(
      async () => (agent.pendingCount === 5 ? true : undefined),
      'five captures in the spool',
    );
    await agent.stop();

    await collector.restart();
    const again = await Agent.start({ dataDir, agentVersion: '0.1.0', sources: sources() });
    await until(async () => (again.pendingCount === 0 ? true : undefined), 'the spool to drain');
    const stored = await rows(
      `select id from captures where device_id = '${again.identity.deviceId}' and source = 'clipboard'`,
    );
    expect(stored).toHaveLength(5);
    await again.stop();
  });

  it('refuses to start unenrolled without a token, saying what to give', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'lantern-agent-'));
    await expect(
      Agent.start({ dataDir: empty, agentVersion: '0.1.0', sources: {} }),
    ).rejects.toMatchObject({
      code: 'AGENT_CONFIG_INVALID',
      message: /--collector URL --enrol-token TOKEN/,
    });
    await rm(empty, { recursive: true, force: true });
  });
});
