import { defineProject, mergeConfig } from 'vitest/config';

import { sharedProjectConfig } from '../vitest.shared.ts';

export default mergeConfig(
  sharedProjectConfig,
  defineProject({
    test: {
      name: 'e2e',
      include: ['e2e/**/*.test.ts'],
      // Whole-system tests start real processes: give them room, never a sleep.
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  }),
);
