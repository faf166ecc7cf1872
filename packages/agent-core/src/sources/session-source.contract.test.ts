import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import type { SessionState } from '@lantern/protocol';

import { FakeCommandRunner } from '../test-helpers/fake-command-runner.ts';
import { IOREG_ROOT } from '../test-helpers/macos-samples.ts';
import { describeSessionSourceContract } from '../test-helpers/session-source-contract.ts';
import {
  QUSER,
  TASKLIST_LOGONUI,
  TASKLIST_NONE,
  TASKLIST_OWN,
} from '../test-helpers/windows-samples.ts';
import { LinuxSessionSource } from './linux/linux-session-source.ts';
import { MacSessionSource } from './macos/macos-session-source.ts';
import { WindowsSessionSource } from './windows/windows-session-source.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-session-contract-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Linux: a stand-in loginctl script printing what the test wrote last, as logind would.
describeSessionSourceContract('LinuxSessionSource (loginctl stand-in)', () => {
  const loginctl = join(dir, 'loginctl');
  const write = async (output: string, status: number): Promise<void> => {
    await writeFile(loginctl, `#!/bin/sh\nprintf '%s' '${output}'\nexit ${status}\n`);
    await chmod(loginctl, 0o755);
  };
  const fields: Record<SessionState, string> = {
    active: 'Active=yes\nLockedHint=no\nState=active',
    locked: 'Active=yes\nLockedHint=yes\nState=active',
    switched_out: 'Active=no\nLockedHint=no\nState=online',
    logged_out: 'Active=no\nLockedHint=no\nState=closing',
  };
  return {
    create: (timers) => new LinuxSessionSource({ loginctl, sessionId: '7', timers }),
    enter: (state) => write(`Name=pupil1\n${fields[state]}\n`, 0),
    breakTools: () => write('Failed to connect to bus: No such file or directory\n', 1),
    states: ['active', 'locked', 'switched_out', 'logged_out'],
    loginName: 'pupil1',
  };
});

// Windows: tasklist (the agent's session, LogonUI in it) and quser, in their real formats.
describeSessionSourceContract('WindowsSessionSource (tasklist and quser stand-ins)', () => {
  const tools = new FakeCommandRunner();
  const enter = async (state: SessionState): Promise<void> => {
    tools.answer('quser', { stdout: state === 'switched_out' ? QUSER.switchedOut : QUSER.active });
    tools.answer('tasklist', (args) => ({
      stdout: args.includes('PID eq 4312')
        ? TASKLIST_OWN
        : state === 'locked'
          ? TASKLIST_LOGONUI
          : TASKLIST_NONE,
    }));
  };
  return {
    create: (timers) => new WindowsSessionSource({ run: tools.run, pid: 4312, timers }),
    enter,
    breakTools: async () => {
      tools.answer('quser', { fail: 'timeout' });
      tools.answer('tasklist', { fail: 'failed', exitCode: 1 });
    },
    states: ['active', 'locked', 'switched_out'],
    loginName: userInfo().username,
  };
});

// macOS: ioreg's root, in its real format.
describeSessionSourceContract('MacSessionSource (ioreg stand-in)', () => {
  const tools = new FakeCommandRunner();
  const roots: Record<SessionState, string> = {
    active: IOREG_ROOT.active,
    locked: IOREG_ROOT.locked,
    switched_out: IOREG_ROOT.switchedOut,
    logged_out: IOREG_ROOT.loggedOut,
  };
  return {
    create: (timers) => new MacSessionSource({ run: tools.run, uid: 501, timers }),
    enter: async (state) => tools.answer('ioreg', { stdout: roots[state] }),
    breakTools: async () => tools.answer('ioreg', { fail: 'timeout' }),
    states: ['active', 'locked', 'switched_out', 'logged_out'],
    // The name from the IORegistry; in 'logged_out' the source falls back to its own account.
    loginName: 'pupil1',
  };
});
