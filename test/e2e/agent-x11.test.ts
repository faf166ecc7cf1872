/**
 * The whole path on a real X display: Xvfb with openbox, real windows, xdotool typing and
 * xclip, the built `lantern-agent` and the built collector (once on embedded PGlite, once on
 * PostgreSQL). A DSL's API shows what arrived.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CaptureListResponseSchema, type CaptureSummary } from '@lantern/protocol';

import { XServer, type TestWindow } from '../../packages/agent-core/src/test-helpers/x11.ts';
import {
  collectorEnv,
  createEnrolmentToken,
  createSite,
  createStaffUser,
  startCollector,
  type ServingCollector,
} from '../helpers/collector.ts';
import { createDatabase } from '../helpers/postgres.ts';
import { builtProgram, startNode, type RunningProcess } from '../helpers/process.ts';
import { setUpTotp, signIn, type StaffApi } from '../helpers/staff-api.ts';
import { waitUntil } from '../helpers/wait.ts';

describe.each(['pglite', 'postgres'] as const)(
  'the agent on a real X display, collector on %s',
  (kind) => {
    let x: XServer;
    let dataDir: string;
    let agentDir: string;
    let dropDatabase: (() => Promise<void>) | undefined;
    let collector: ServingCollector;
    let agent: RunningProcess;
    let dsl: StaffApi;
    let siteId: string;
    const windows: TestWindow[] = [];

    beforeAll(async () => {
      x = await XServer.start();
      dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-collector-'));
      agentDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-agent-'));
      let databaseUrl = '';
      if (kind === 'postgres') {
        const database = await createDatabase();
        databaseUrl = database.url;
        dropDatabase = () => database.drop();
      }
      const env = collectorEnv({ databaseUrl, dataDir });
      siteId = await createSite(env, 'Example Academy');
      const token = await createEnrolmentToken(env, siteId, 5);
      const staff = await createStaffUser(env, {
        email: 'dsl@school.example',
        name: 'Dee Ess-Ell',
        role: 'dsl',
        siteId,
      });
      collector = await startCollector(env);
      dsl = await signIn(collector.url, staff);
      await setUpTotp(dsl);
      agent = startNode(
        builtProgram('packages/agent-core/bin/lantern-agent.js'),
        [
          '--collector',
          collector.url,
          '--enrol-token',
          token,
          '--data-dir',
          agentDir,
          '--layout',
          'us',
        ],
        { PATH: process.env.PATH, DISPLAY: x.display, LC_ALL: 'C.UTF-8', HOME: agentDir },
      );
      await agent.waitFor(/Lantern agent \S+ is running/);
      await agent.waitFor(/LINK_STATE: online/);
    });

    afterAll(async () => {
      await agent?.stop('SIGTERM');
      for (const window of windows) await window.close();
      await collector?.process.stop('SIGTERM');
      await x?.close();
      await dropDatabase?.();
      await rm(dataDir, { recursive: true, force: true });
      await rm(agentDir, { recursive: true, force: true });
    });

    async function captures(): Promise<CaptureSummary[]> {
      const page = await dsl.expectJson(
        CaptureListResponseSchema,
        'GET',
        `/api/sites/${siteId}/captures?order=newest&limit=200`,
      );
      return page.items;
    }

    async function arrives(
      what: string,
      test: (capture: CaptureSummary) => boolean,
      timeoutMs = 10_000,
    ): Promise<CaptureSummary> {
      let found: CaptureSummary | undefined;
      await waitUntil(
        what,
        async () => {
          found = (await captures()).find(test);
          return found !== undefined;
        },
        { timeoutMs, detail: () => agent.output().slice(-2000) },
      );
      if (!found) throw new Error('unreachable');
      return found;
    }

    it('captures a concerning search in a window title, with a screenshot, within 2 s', async () => {
      const started = Date.now();
      const window = await x.openWindow('how to kill myself painlessly - Google Search');
      windows.push(window);
      await x.activate(window);
      const capture = await arrives(
        'the title capture to reach the collector',
        (item) => item.source === 'window_title' && item.categories.includes('suicide'),
        2_000,
      );
      const elapsed = Date.now() - started;
      expect(capture.hasScreenshot).toBe(true);
      expect(elapsed).toBeLessThan(2_000);
      process.stdout.write(`window title → capture in the collector: ${elapsed} ms\n`);
    });

    it('captures typed text, also when typos were corrected with Backspace, and not homework', async () => {
      const window = await x.openWindow('Untitled - Notes');
      windows.push(window);
      await x.activate(window);
      await x.check('xdotool', [
        'type',
        '--delay',
        '15',
        'the homework on the opium wars is due friday',
      ]);
      await x.check('xdotool', ['key', 'Return']);
      await x.check('xdotool', ['type', '--delay', '15', 'i want to kil myselv']);
      await x.check('xdotool', ['key', ...Array<string>(8).fill('BackSpace')]);
      await x.check('xdotool', ['type', '--delay', '15', 'll myself tonight']);
      await x.check('xdotool', ['key', 'Return']);
      const capture = await arrives(
        'the typed capture',
        (item) => item.source === 'typed' && item.categories.includes('suicide'),
      );
      expect(capture.appName).toBeTruthy();
      // The homework sentence, typed and settled first, made nothing.
      const typed = (await captures()).filter((item) => item.source === 'typed');
      expect(typed).toHaveLength(1);
      const detail = await dsl.request('GET', `/api/captures/${capture.id}`);
      expect(((await detail.json()) as { context: string }).context).toBe(
        'i want to kill myself tonight',
      );
    });

    it('captures concerning clipboard text', async () => {
      await x.setClipboard('where can i get a blade to cut myself');
      await arrives(
        'the clipboard capture',
        (item) => item.source === 'clipboard' && item.categories.includes('self_harm'),
      );
    });
  },
);
