import { describe, expect, it } from 'vitest';

import { FakeCommandRunner } from '../../test-helpers/fake-command-runner.ts';
import { IOREG_ROOT } from '../../test-helpers/macos-samples.ts';
import { ManualTimers } from '../../test-helpers/manual-timers.ts';
import type { SessionInfo } from '../source.ts';
import { macSessionInfo, MacSessionSource, parseIoregConsole } from './macos-session-source.ts';

describe('parseIoregConsole', () => {
  it("reads each login session and the console's lock flag", () => {
    expect(parseIoregConsole(IOREG_ROOT.switchedOut)).toEqual({
      users: [
        { userName: 'pupil1', uid: 501, onConsole: false, locked: false },
        // Its full name holds braces and a comma: still one session.
        { userName: 'teacher.two', uid: 502, onConsole: true, locked: false },
      ],
      consoleLocked: false,
    });
    expect(parseIoregConsole(IOREG_ROOT.locked)).toEqual({
      users: [{ userName: 'pupil1', uid: 501, onConsole: true, locked: true }],
      consoleLocked: true,
    });
    expect(parseIoregConsole(IOREG_ROOT.loginWindow).users).toEqual([]);
    expect(parseIoregConsole('+-o Root  <class IORegistryEntry>\n')).toEqual({
      users: null,
      consoleLocked: null,
    });
  });
});

describe('macSessionInfo', () => {
  it("gives the agent's own session's state, by uid", () => {
    const state = (sample: string, uid: number | null) =>
      macSessionInfo(parseIoregConsole(sample), uid, 'fallback')?.state;
    expect(state(IOREG_ROOT.active, 501)).toBe('active');
    expect(state(IOREG_ROOT.locked, 501)).toBe('locked');
    expect(state(IOREG_ROOT.switchedOut, 501)).toBe('switched_out');
    expect(state(IOREG_ROOT.loggedOut, 501)).toBe('logged_out');
    expect(state(IOREG_ROOT.loginWindow, 501)).toBe('logged_out');
    // Without a uid, the session on the console.
    expect(state(IOREG_ROOT.switchedOut, null)).toBe('active');
    // The console's flag alone (macOS 11 and later) also means locked.
    expect(
      state(IOREG_ROOT.active.replace('"IOConsoleLocked" = No', '"IOConsoleLocked" = Yes'), 501),
    ).toBe('locked');
    expect(macSessionInfo(parseIoregConsole(''), 501, 'fallback')).toBeNull();
  });
});

describe('MacSessionSource', () => {
  it('reads ioreg at each poll and keeps the name once the session is gone', async () => {
    const tools = new FakeCommandRunner();
    tools.answer('ioreg', { stdout: IOREG_ROOT.active });
    const sessions: SessionInfo[] = [];
    const timers = new ManualTimers();
    const source = new MacSessionSource({ run: tools.run, uid: 501, timers });
    await source.start((session) => sessions.push(session));
    tools.answer('ioreg', { stdout: IOREG_ROOT.loggedOut });
    await timers.poll();
    await source.stop();
    expect(sessions).toEqual([
      { loginName: 'pupil1', state: 'active' },
      { loginName: 'pupil1', state: 'logged_out' },
    ]);
    expect(tools.callsTo('ioreg')).toEqual(['-w0 -n Root -d1', '-w0 -n Root -d1']);
  });
});
