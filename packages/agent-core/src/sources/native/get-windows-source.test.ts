import { existsSync } from 'node:fs';

import type { Result } from 'get-windows';
import { describe, expect, it } from 'vitest';

import { WINDOW_TITLE_MAX_CHARS } from '@lantern/protocol';

import { ManualTimers } from '../../test-helpers/manual-timers.ts';
import type { ActiveWindow } from '../source.ts';
import {
  classifyFailure,
  GetWindowsSource,
  toActiveWindow,
  windowsAddonPath,
  type ActiveWindowReader,
} from './get-windows-source.ts';

// What get-windows returns on each platform (its index.d.ts), with synthetic values.
const WINDOWS_RESULT: Result = {
  platform: 'windows',
  title: 'Homework - Word',
  id: 0x1a0b2c,
  bounds: { x: 0, y: 0, width: 1280, height: 800 },
  contentBounds: { x: 8, y: 31, width: 1264, height: 761 },
  owner: {
    name: 'Microsoft Word',
    processId: 6120,
    path: 'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE',
  },
  memoryUsage: 181_403_648,
};

const MACOS_RESULT: Result = {
  platform: 'macos',
  title: 'Homework',
  id: 5762,
  bounds: { x: 0, y: 25, width: 1440, height: 875 },
  owner: {
    name: 'Pages',
    processId: 310,
    bundleId: 'com.apple.iWork.Pages',
    path: '/Applications/Pages.app',
  },
  memoryUsage: 11_015_432,
};

/** execFile's error when get-windows' macOS helper refuses: exit code 1, the reason on stdout. */
function helperRefusal(stdout: string): Error {
  return Object.assign(new Error('Command failed: …/get-windows/main'), {
    code: 1,
    killed: false,
    signal: null,
    cmd: '…/get-windows/main --no-accessibility-permission',
    stdout,
    stderr: '',
  });
}

/** A source reading from `answers`, one per poll (the last one repeats), polled by hand. */
async function watch(answers: (() => Promise<Result | null | undefined>)[]) {
  const events: ActiveWindow[] = [];
  const timers = new ManualTimers();
  const options: unknown[] = [];
  const activeWindow: ActiveWindowReader = (opts) => {
    options.push(opts);
    const next = answers.length > 1 ? answers.shift() : answers[0];
    return next ? next() : Promise.resolve(undefined);
  };
  const source = new GetWindowsSource({ activeWindow, timers, platform: 'darwin' });
  await source.start((window) => events.push(window));
  return { events, timers, source, options };
}

describe('GetWindowsSource', () => {
  it('reports a window once, and again only when it or its title changes', async () => {
    const renamed = { ...WINDOWS_RESULT, title: 'Homework (2) - Word' };
    const other = { ...MACOS_RESULT };
    const { events, timers, source, options } = await watch([
      async () => WINDOWS_RESULT,
      async () => WINDOWS_RESULT,
      async () => undefined, // the desktop has focus
      async () => WINDOWS_RESULT,
      async () => renamed,
      async () => other,
    ]);
    expect(source.state).toBe('running');
    for (let i = 0; i < 5; i++) await timers.poll();
    expect(events.map((event) => event.title)).toEqual([
      'Homework - Word',
      'Homework (2) - Word',
      'Homework',
    ]);
    // Titles need Screen Recording; the Accessibility prompt (for browser URLs) is never shown.
    expect(options[0]).toEqual({ accessibilityPermission: false, screenRecordingPermission: true });
    await source.stop();
    expect(timers.scheduled).toBe(false);
  });

  it('fails with WINDOW_SOURCE_NO_SCREEN_RECORDING, and stops polling, when macOS withholds titles', async () => {
    const refusal = helperRefusal(
      'get-windows requires the screen recording permission in “System Settings › Privacy & Security › Screen Recording”.\n',
    );
    const { events, timers, source } = await watch([() => Promise.reject(refusal)]);
    expect(source.state).toBe('failed');
    expect(source.error?.code).toBe('WINDOW_SOURCE_NO_SCREEN_RECORDING');
    expect(source.error?.message).toContain('Screen Recording');
    expect(timers.scheduled).toBe(false);
    expect(events).toEqual([]);
  });

  it('skips a read that fails, and reads again at the next poll', async () => {
    const { timers, source, events } = await watch([
      // get-windows on Linux, for a window without _NET_WM_PID.
      () => Promise.reject(new Error('Failed to parse process ID')),
      async () => MACOS_RESULT,
    ]);
    expect(source.state).toBe('running');
    expect(events).toEqual([]);
    await timers.poll();
    expect(events).toHaveLength(1);
  });

  it('fails with WINDOW_SOURCE_FAILED when get-windows cannot run', async () => {
    const denied = Object.assign(new Error('spawn …/get-windows/main EACCES'), { code: 'EACCES' });
    const { timers, source } = await watch([() => Promise.reject(denied)]);
    expect(source.state).toBe('failed');
    expect(source.error?.code).toBe('WINDOW_SOURCE_FAILED');
    expect(source.error?.message).toContain('EACCES');
    expect(timers.scheduled).toBe(false);
  });

  it("fails at start on Windows when get-windows' addon is not installed", async () => {
    // This machine has no Windows addon: the same check the agent makes on Windows.
    const path = windowsAddonPath('x64');
    expect(path).toMatch(
      /get-windows[\\/]lib[\\/]binding[\\/]napi-9-win32-unknown-x64[\\/]node-get-windows\.node$/,
    );
    expect(existsSync(path)).toBe(false);
    const source = new GetWindowsSource({ platform: 'win32', timers: new ManualTimers() });
    await source.start(() => {});
    expect(source.state).toBe('failed');
    expect(source.error?.code).toBe('WINDOW_SOURCE_FAILED');
    expect(source.error?.message).toContain('addon');
  });
});

describe('toActiveWindow', () => {
  it('writes HWNDs in hex, and keeps the executable as the app id', () => {
    expect(toActiveWindow(WINDOWS_RESULT)).toEqual({
      id: '0x1a0b2c',
      title: 'Homework - Word',
      appName: 'Microsoft Word',
      appId: 'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE',
      pid: 6120,
    });
  });

  it('keeps CGWindowIDs in decimal, and the bundle id as the app id', () => {
    expect(toActiveWindow(MACOS_RESULT)).toEqual({
      id: '5762',
      title: 'Homework',
      appName: 'Pages',
      appId: 'com.apple.iWork.Pages',
      pid: 310,
    });
  });

  it(`cuts titles to ${WINDOW_TITLE_MAX_CHARS} characters, and reads a missing title or path as empty`, () => {
    const long = `${'x'.repeat(WINDOW_TITLE_MAX_CHARS - 1)}😀 more`;
    expect(toActiveWindow({ ...MACOS_RESULT, title: long }).title).toBe(
      'x'.repeat(WINDOW_TITLE_MAX_CHARS - 1),
    );
    // get-windows on Linux: a title it cannot parse is null, an unreadable executable undefined.
    const linux = {
      platform: 'linux',
      title: null,
      id: 4194346,
      bounds: { x: 0, y: 0, width: 10, height: 10 },
      owner: { name: 'Xmessage', processId: 17220 },
      memoryUsage: 0,
    } as unknown as Result;
    expect(toActiveWindow(linux)).toEqual({
      id: '0x40002a',
      title: '',
      appName: 'Xmessage',
      appId: null,
      pid: 17220,
    });
  });
});

describe('classifyFailure', () => {
  it('tells a refused permission and a helper that cannot run from a read to skip', () => {
    expect(
      classifyFailure(
        helperRefusal(
          'get-windows requires the accessibility permission in “System Settings › Privacy & Security › Accessibility”.\n',
        ),
      )?.code,
    ).toBe('WINDOW_SOURCE_FAILED');
    expect(classifyFailure(Object.assign(new Error('spawn'), { code: 'ENOENT' }))?.code).toBe(
      'WINDOW_SOURCE_FAILED',
    );
    expect(classifyFailure(new Error('Error parsing window data'))).toBeNull();
    expect(classifyFailure(undefined)).toBeNull();
  });
});
