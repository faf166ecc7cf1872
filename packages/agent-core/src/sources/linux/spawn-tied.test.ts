import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { describe, expect, it, vi } from 'vitest';

const CHILD = fileURLToPath(new URL('../../test-helpers/spawn-tied.child.ts', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('spawnTied', () => {
  it('ends the helper when the agent that started it is killed with SIGKILL', async () => {
    const agent = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(agent.stdout, 'data')) as [Buffer];
    const helper = Number(line.toString().trim());
    expect(alive(helper)).toBe(true);
    agent.kill('SIGKILL');
    await once(agent, 'exit');
    await vi.waitFor(() => expect(alive(helper)).toBe(false), { timeout: 5_000 });
  });
});
