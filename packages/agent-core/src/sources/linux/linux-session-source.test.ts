import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ManualTimers } from '../../test-helpers/manual-timers.ts';
import type { SessionInfo } from '../source.ts';
import { LinuxSessionSource, parseLogindSession, sessionStateOf } from './linux-session-source.ts';

/**
 * A stand-in for `loginctl` (logind is a system service these tests cannot run): it logs
 * its arguments and prints, and exits with, what the test wrote last.
 */
async function fakeLoginctl(dir: string) {
  const path = join(dir, 'loginctl');
  await writeFile(
    path,
    `#!/bin/sh\necho "$@" >> "${dir}/args"\ncat "${dir}/output"\nexit "$(cat "${dir}/status")"\n`,
  );
  await chmod(path, 0o755);
  const answer = async (output: string, status = 0): Promise<void> => {
    await writeFile(join(dir, 'output'), output);
    await writeFile(join(dir, 'status'), String(status));
  };
  const session = (fields: { Name?: string; Active: string; LockedHint: string; State: string }) =>
    answer(
      Object.entries(fields)
        .map(([key, value]) => `${key}=${value}\n`)
        .join(''),
    );
  const args = async (): Promise<string[]> =>
    (await readFile(join(dir, 'args'), 'utf8')).trim().split('\n');
  return { path, answer, session, args };
}

describe('LinuxSessionSource', () => {
  let dir: string;
  let source: LinuxSessionSource | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lantern-session-'));
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function watch(options: ConstructorParameters<typeof LinuxSessionSource>[0]) {
    const sessions: SessionInfo[] = [];
    const timers = new ManualTimers();
    source = new LinuxSessionSource({ timers, ...options });
    await source.start((session) => sessions.push(session));
    expect(source.state).toBe('running');
    return { sessions, timers, source };
  }

  it('without loginctl, reports the account it runs as, always active, and says it cannot see locks', async () => {
    const { sessions, timers, source } = await watch({ loginctl: join(dir, 'no-such-loginctl') });
    expect(sessions).toEqual([{ loginName: userInfo().username, state: 'active' }]);
    expect(source.lockDetection).toBe('none');
    // Nothing could change it: no polling.
    expect(timers.scheduled).toBe(false);
  });

  it('without a logind to answer (a container), does the same', async () => {
    const loginctl = await fakeLoginctl(dir);
    await loginctl.answer(
      "System has not been booted with systemd as init system (PID 1). Can't operate.\n",
      1,
    );
    const { sessions, source } = await watch({ loginctl: loginctl.path });
    expect(sessions).toEqual([{ loginName: userInfo().username, state: 'active' }]);
    expect(source.lockDetection).toBe('none');
  });

  it('follows logind: active, locked, switched out, logging out — one event per change', async () => {
    const loginctl = await fakeLoginctl(dir);
    await loginctl.session({ Name: 'pupil1', Active: 'yes', LockedHint: 'no', State: 'active' });
    const { sessions, timers, source } = await watch({ loginctl: loginctl.path, sessionId: '7' });
    expect(source.lockDetection).toBe('logind');

    await timers.poll(); // unchanged: no event
    await loginctl.session({ Name: 'pupil1', Active: 'yes', LockedHint: 'yes', State: 'active' });
    await timers.poll();
    await loginctl.session({ Name: 'pupil1', Active: 'no', LockedHint: 'no', State: 'online' });
    await timers.poll();
    await loginctl.session({ Name: 'pupil1', Active: 'no', LockedHint: 'no', State: 'closing' });
    await timers.poll();

    expect(sessions).toEqual([
      { loginName: 'pupil1', state: 'active' },
      { loginName: 'pupil1', state: 'locked' },
      { loginName: 'pupil1', state: 'switched_out' },
      { loginName: 'pupil1', state: 'logged_out' },
    ]);
    expect(await loginctl.args()).toContain(
      'show-session 7 --property=Name --property=Active --property=LockedHint --property=State',
    );
  });

  it('keeps the last state while logind does not answer', async () => {
    const loginctl = await fakeLoginctl(dir);
    await loginctl.session({ Name: 'pupil2', Active: 'yes', LockedHint: 'yes', State: 'active' });
    const { sessions, timers } = await watch({ loginctl: loginctl.path, sessionId: '3' });
    await loginctl.answer('Failed to connect to bus\n', 1);
    await timers.poll();
    await loginctl.session({ Name: 'pupil2', Active: 'yes', LockedHint: 'no', State: 'active' });
    await timers.poll();
    expect(sessions).toEqual([
      { loginName: 'pupil2', state: 'locked' },
      { loginName: 'pupil2', state: 'active' },
    ]);
  });

  it("asks about the process's own session when XDG_SESSION_ID is not set", async () => {
    const saved = process.env['XDG_SESSION_ID'];
    delete process.env['XDG_SESSION_ID'];
    try {
      const loginctl = await fakeLoginctl(dir);
      await loginctl.session({ Name: 'pupil3', Active: 'yes', LockedHint: 'no', State: 'active' });
      await watch({ loginctl: loginctl.path });
      expect((await loginctl.args())[0]).toMatch(/^show-session auto /);
    } finally {
      if (saved !== undefined) process.env['XDG_SESSION_ID'] = saved;
    }
  });
});

describe('parseLogindSession', () => {
  it('reads loginctl show-session output, and refuses output without Active', () => {
    expect(parseLogindSession('Name=a\nActive=yes\nLockedHint=no\nState=active\n')).toEqual({
      name: 'a',
      active: true,
      locked: false,
      state: 'active',
    });
    expect(parseLogindSession('Failed to get session: No session "auto" known\n')).toBeNull();
  });

  it('ranks logging out over locked over switched out', () => {
    const base = { name: 'a', active: false, locked: true, state: 'closing' };
    expect(sessionStateOf(base)).toBe('logged_out');
    expect(sessionStateOf({ ...base, state: 'online' })).toBe('locked');
    expect(sessionStateOf({ ...base, state: 'online', locked: false })).toBe('switched_out');
    expect(sessionStateOf({ ...base, state: 'active', locked: false, active: true })).toBe(
      'active',
    );
  });
});
