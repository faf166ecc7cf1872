import { userInfo } from 'node:os';

import { afterEach, describe, expect, it } from 'vitest';

import { FakeCommandRunner } from '../../test-helpers/fake-command-runner.ts';
import { ManualTimers } from '../../test-helpers/manual-timers.ts';
import {
  QUSER,
  TASKLIST_LOGONUI,
  TASKLIST_NONE,
  TASKLIST_OWN,
} from '../../test-helpers/windows-samples.ts';
import type { SessionInfo } from '../source.ts';
import {
  parseQuser,
  parseTasklistCsv,
  windowsSessionState,
  WindowsSessionSource,
} from './windows-session-source.ts';

describe('parseQuser', () => {
  it('reads each session, the current one marked', () => {
    expect(parseQuser(QUSER.switchedOut)).toEqual([
      { current: true, userName: 'pupil1', sessionName: '', id: 1, state: 'Disc' },
      { current: false, userName: 'teacher.two', sessionName: 'console', id: 2, state: 'Active' },
    ]);
  });

  it('reads user names with spaces, two-digit ids, and translated headers', () => {
    expect(parseQuser(QUSER.mixed)).toEqual([
      { current: false, userName: 'pupil one', sessionName: 'rdp-tcp#3', id: 4, state: 'Active' },
      { current: true, userName: 'pupil2', sessionName: 'console', id: 12, state: 'Active' },
      { current: false, userName: 'old.account', sessionName: '', id: 13, state: 'Disc' },
    ]);
    expect(parseQuser(QUSER.german)).toEqual([
      { current: true, userName: 'schueler1', sessionName: 'console', id: 1, state: 'Aktiv' },
    ]);
    expect(parseQuser('No User exists for *\r\n')).toEqual([]);
    expect(parseQuser('')).toEqual([]);
  });
});

describe('parseTasklistCsv', () => {
  it('reads processes, and nothing from the no-match message', () => {
    expect(parseTasklistCsv(TASKLIST_LOGONUI)).toEqual([
      { image: 'LogonUI.exe', pid: 9120, sessionName: 'Console', session: 1 },
    ]);
    expect(parseTasklistCsv(TASKLIST_NONE)).toEqual([]);
  });
});

describe('windowsSessionState', () => {
  const session = { current: true, userName: 'pupil1', sessionName: 'console', id: 1 };
  it('ranks switched out over locked over active', () => {
    expect(windowsSessionState({ ...session, state: 'Active' }, false)).toBe('active');
    expect(windowsSessionState({ ...session, state: 'Aktiv' }, true)).toBe('locked');
    expect(windowsSessionState({ ...session, state: 'Disc' }, false)).toBe('switched_out');
    expect(windowsSessionState(null, true)).toBe('locked');
    expect(windowsSessionState(null, false)).toBe('active');
  });
});

describe('WindowsSessionSource', () => {
  let source: WindowsSessionSource | undefined;

  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  async function watch(tools: FakeCommandRunner) {
    const sessions: SessionInfo[] = [];
    const timers = new ManualTimers();
    source = new WindowsSessionSource({ run: tools.run, pid: 4312, timers });
    await source.start((session) => sessions.push(session));
    return { sessions, timers, source };
  }

  it('finds its session once, then asks quser and tasklist about it at each reading', async () => {
    const tools = new FakeCommandRunner();
    tools.answer('quser', { stdout: QUSER.active });
    tools.answer('tasklist', (args) => ({
      stdout: args.includes('PID eq 4312') ? TASKLIST_OWN : TASKLIST_NONE,
    }));
    const { sessions, timers, source } = await watch(tools);
    await timers.poll();
    expect(sessions).toEqual([{ loginName: userInfo().username, state: 'active' }]);
    expect(source.lockDetection).toBe('quser+logonui');
    expect(tools.callsTo('tasklist')).toEqual([
      '/FO CSV /NH /FI PID eq 4312',
      '/FO CSV /NH /FI IMAGENAME eq LogonUI.exe /FI SESSION eq 1',
      '/FO CSV /NH /FI IMAGENAME eq LogonUI.exe /FI SESSION eq 1',
    ]);
    expect(tools.callsTo('quser')).toEqual(['', '']);
  });

  it('without quser (Windows Home), still sees the lock screen', async () => {
    const tools = new FakeCommandRunner();
    tools.answer('tasklist', (args) => ({
      stdout: args.includes('PID eq 4312') ? TASKLIST_OWN : TASKLIST_LOGONUI,
    }));
    const { sessions, source } = await watch(tools);
    expect(sessions).toEqual([{ loginName: userInfo().username, state: 'locked' }]);
    expect(source.lockDetection).toBe('logonui');
  });

  it('with neither tool, reports the account it runs as, active, and says it cannot see locks', async () => {
    const { sessions, source } = await watch(new FakeCommandRunner());
    expect(sessions).toEqual([{ loginName: userInfo().username, state: 'active' }]);
    expect(source.lockDetection).toBe('none');
  });
});
