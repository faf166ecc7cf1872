/**
 * What every `WindowSource` must do, as a test suite run against each implementation on a
 * real X server (Xvfb + openbox): the X11 one, and get-windows, which on Linux reads the
 * same windows through xprop. Windows and macOS run get-windows' own native code, which
 * cannot run here; the suite pins down the source's logic around it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { ActiveWindow, WindowSource } from '../sources/source.ts';
import { uniqueTitle, waitFor, XServer, type TestWindow } from './x11.ts';

export interface WindowSourceFixture {
  /** A new, stopped source watching `display` (the suite also sets `$DISPLAY` to it). */
  readonly create: (display: string) => WindowSource;
}

export function describeWindowSourceContract(name: string, fixture: WindowSourceFixture): void {
  describe(`${name} (WindowSource contract, on Xvfb)`, { timeout: 30_000 }, () => {
    let x: XServer;
    let first: TestWindow;
    let second: TestWindow;
    let savedDisplay: string | undefined;
    const started: WindowSource[] = [];

    beforeAll(async () => {
      x = await XServer.start();
      savedDisplay = process.env['DISPLAY'];
      process.env['DISPLAY'] = x.display;
      first = await x.openWindow(uniqueTitle('first'));
      second = await x.openWindow(uniqueTitle('second'));
      // get-windows cannot describe a window without _NET_WM_PID (xmessage sets none).
      for (const window of [first, second]) {
        await x.check('xprop', [
          ...['-id', window.hexId, '-f', '_NET_WM_PID', '32c'],
          ...['-set', '_NET_WM_PID', String(window.process.pid)],
        ]);
      }
    }, 30_000);

    afterEach(async () => {
      await Promise.all(started.splice(0).map((source) => source.stop()));
    });

    afterAll(async () => {
      if (savedDisplay === undefined) delete process.env['DISPLAY'];
      else process.env['DISPLAY'] = savedDisplay;
      await x?.close();
    });

    async function watch(): Promise<{ events: ActiveWindow[]; source: WindowSource }> {
      const events: ActiveWindow[] = [];
      const source = fixture.create(x.display);
      started.push(source);
      await source.start((window) => events.push(window));
      expect(source.state).toBe('running');
      expect(source.error).toBeNull();
      return { events, source };
    }

    const waitForTitle = (events: readonly ActiveWindow[], title: string) =>
      waitFor(`a window titled ${title}`, () => events.find((event) => event.title === title), {
        detail: () => `emitted: ${JSON.stringify(events.map((e) => e.title))}`,
      });

    async function rename(window: TestWindow, label: string): Promise<string> {
      const title = uniqueTitle(label);
      await x.check('xdotool', ['set_window', '--name', title, String(window.id)]);
      return title;
    }

    async function titleOf(window: TestWindow): Promise<string> {
      return (await x.check('xdotool', ['getwindowname', String(window.id)])).replace(/\n$/, '');
    }

    it('reports the focused window with its title and app, then each window focus moves to', async () => {
      await x.activate(first);
      const { events } = await watch();
      const firstTitle = await titleOf(first);
      const secondTitle = await titleOf(second);
      const one = await waitForTitle(events, firstTitle);
      await x.activate(second);
      const two = await waitForTitle(events, secondTitle);

      expect(one).toMatchObject({ appName: 'Xmessage', pid: first.process.pid });
      expect(two).toMatchObject({ appName: 'Xmessage', pid: second.process.pid });
      expect(one.id).not.toBe('');
      expect(two.id).not.toBe(one.id);
      expect(events.map((event) => event.title)).toEqual([firstTitle, secondTitle]);
    });

    it('reports a title change of the focused window, under the same id', async () => {
      await x.activate(first);
      const { events } = await watch();
      const before = await waitForTitle(events, await titleOf(first));
      const after = await waitForTitle(events, await rename(first, 'renamed'));
      expect(after.id).toBe(before.id);
      expect(events).toHaveLength(2);
    });

    it('does not report the same window again when nothing about it changed', async () => {
      await x.activate(second);
      const { events } = await watch();
      const secondTitle = await titleOf(second);
      await waitForTitle(events, secondTitle);
      await x.activate(first);
      const firstTitle = await titleOf(first);
      await waitForTitle(events, firstTitle);
      // Giving focus to the window that has it changes nothing…
      await x.check('xdotool', ['windowactivate', '--sync', String(first.id)]);
      // …so the next event is the next real change.
      const renamed = await rename(first, 'after');
      await waitForTitle(events, renamed);
      expect(events.map((event) => event.title)).toEqual([secondTitle, firstTitle, renamed]);
    });

    it('reports nothing once stopped, and reports the focused window when started again', async () => {
      await x.activate(first);
      const { events, source } = await watch();
      await waitForTitle(events, await titleOf(first));
      await source.stop();
      expect(source.state).toBe('stopped');

      const renamed = await rename(first, 'while-stopped');
      // A second source seeing the change shows it has happened; the stopped one stays silent.
      const { events: sentinel } = await watch();
      await waitForTitle(sentinel, renamed);
      expect(events).toHaveLength(1);

      await source.start((window) => events.push(window));
      expect(source.state).toBe('running');
      await waitForTitle(events, renamed);
    });
  });
}
