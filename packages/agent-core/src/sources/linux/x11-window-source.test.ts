import { realpath } from 'node:fs/promises';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { WINDOW_TITLE_MAX_CHARS } from '@lantern/protocol';

import { uniqueTitle, waitFor, XServer, type TestWindow } from '../../test-helpers/x11.ts';
import type { ActiveWindow } from '../source.ts';
import { X11WindowSource } from './x11-window-source.ts';

describe('X11WindowSource', { timeout: 30_000 }, () => {
  let x: XServer;
  let first: TestWindow;
  let second: TestWindow;
  let source: X11WindowSource | undefined;

  beforeAll(async () => {
    x = await XServer.start();
    first = await x.openWindow(uniqueTitle('first'));
    second = await x.openWindow(uniqueTitle('second'));
  }, 30_000);

  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  afterAll(async () => {
    await x?.close();
  });

  /** Start a source on the test display, collecting what it emits. */
  async function watch(): Promise<{ events: ActiveWindow[]; source: X11WindowSource }> {
    const events: ActiveWindow[] = [];
    source = new X11WindowSource({ display: x.display });
    await source.start((window) => events.push(window));
    expect(source.state).toBe('running');
    return { events, source };
  }

  const waitForWindow = (events: readonly ActiveWindow[], match: Partial<ActiveWindow>) =>
    waitFor(
      `an ActiveWindow matching ${JSON.stringify(match)}`,
      () =>
        events.find((event) =>
          Object.entries(match).every(([k, v]) => event[k as keyof ActiveWindow] === v),
        ),
      { detail: () => `emitted: ${JSON.stringify(events)}` },
    );

  it('reports the focused window with its title, and follows focus from window to window', async () => {
    await x.activate(first);
    const { events } = await watch();
    await waitForWindow(events, { id: first.hexId });

    await x.activate(second);
    await waitForWindow(events, { id: second.hexId });
    await x.activate(first);
    await waitFor(
      'focus back on the first window',
      () => events.length >= 3 && events.at(-1)?.id === first.hexId,
      {
        detail: () => JSON.stringify(events),
      },
    );

    const titles = new Map([
      [first.hexId, await windowTitle(first)],
      [second.hexId, await windowTitle(second)],
    ]);
    expect(events.map((event) => [event.id, event.title])).toEqual([
      [first.hexId, titles.get(first.hexId)],
      [second.hexId, titles.get(second.hexId)],
      [first.hexId, titles.get(first.hexId)],
    ]);
    expect(events[0]).toMatchObject({ appName: 'Xmessage', pid: null, appId: 'Xmessage' });
  });

  it('reports a title change of the active window, whatever characters the title holds', async () => {
    await x.activate(first);
    const { events } = await watch();
    await waitForWindow(events, { id: first.hexId });

    const title = 'Sché "quoted" back\\slash\nnew line 😀 — end';
    await x.check('xdotool', ['set_window', '--name', title, String(first.id)]);
    await waitForWindow(events, { id: first.hexId, title });
    await x.check('xdotool', ['set_window', '--name', 'plain', String(first.id)]);
    await waitForWindow(events, { id: first.hexId, title: 'plain' });
    expect(events.map((event) => event.title).slice(-2)).toEqual([title, 'plain']);
  });

  it('does not report the same window twice when nothing about it changed', async () => {
    await x.activate(second);
    const { events } = await watch();
    await waitForWindow(events, { id: second.hexId });
    await x.activate(first);
    await waitForWindow(events, { id: first.hexId });
    // Re-asserting focus on the active window changes nothing…
    await x.check('xdotool', ['windowactivate', String(first.id)]);
    // …so the next event is the next real change.
    await x.check('xdotool', ['set_window', '--name', 'after', String(first.id)]);
    await waitForWindow(events, { title: 'after' });
    expect(events.map((event) => event.id)).toEqual([second.hexId, first.hexId, first.hexId]);
  });

  it('reports the process and executable when the window names its pid', async () => {
    const pid = first.process.pid;
    expect(pid).toBeTypeOf('number');
    await x.activate(first);
    const { events } = await watch();
    await waitForWindow(events, { id: first.hexId });
    await x.check('xprop', [
      '-id',
      first.hexId,
      '-f',
      '_NET_WM_PID',
      '32c',
      '-set',
      '_NET_WM_PID',
      String(pid),
    ]);
    const window = await waitForWindow(events, { id: first.hexId, pid });
    expect(window.appId).toBe(await realpath('/usr/bin/xmessage'));
    expect(window.appName).toBe('Xmessage');
  });

  it(`cuts a title longer than ${WINDOW_TITLE_MAX_CHARS} characters`, async () => {
    await x.activate(second);
    const { events } = await watch();
    await waitForWindow(events, { id: second.hexId });
    const long = `${'x'.repeat(WINDOW_TITLE_MAX_CHARS - 1)}😀 and more`;
    await x.check('xdotool', ['set_window', '--name', long, String(second.id)]);
    const window = await waitFor('the long title', () =>
      events.find((event) => event.title.startsWith('xxx')),
    );
    // The emoji would straddle the limit: it is dropped whole, not split.
    expect(window.title).toBe('x'.repeat(WINDOW_TITLE_MAX_CHARS - 1));
  });

  it('fails with WINDOW_SOURCE_FAILED, without content, when the X server goes away', async () => {
    const doomed = await XServer.start({ windowManager: false });
    try {
      source = new X11WindowSource({ display: doomed.display });
      await source.start(() => {});
      expect(source.state).toBe('running');
    } finally {
      await doomed.close();
    }
    const failed = source;
    await waitFor('the source notices', () => failed.state === 'failed');
    expect(failed.error?.code).toBe('WINDOW_SOURCE_FAILED');
    expect(failed.error?.message).toContain(doomed.display);
  });

  it('fails at start when the X server cannot be reached', async () => {
    source = new X11WindowSource({ display: ':65000' });
    await source.start(() => {});
    expect(source.state).toBe('failed');
    expect(source.error?.code).toBe('WINDOW_SOURCE_FAILED');
  });

  async function windowTitle(window: TestWindow): Promise<string> {
    return (await x.check('xdotool', ['getwindowname', String(window.id)])).replace(/\n$/, '');
  }
});
