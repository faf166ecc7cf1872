import { defineProject, mergeConfig } from 'vitest/config';

import { sharedProjectConfig } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedProjectConfig,
  // Set-up starts real collectors, X servers and child processes: give it time on a busy machine.
  defineProject({ test: { name: 'agent-core', hookTimeout: 60_000, testTimeout: 30_000 } }),
);
