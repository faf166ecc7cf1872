import { defineProject, mergeConfig } from 'vitest/config';

import { sharedProjectConfig } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedProjectConfig,
  defineProject({
    test: {
      name: 'collector',
      // Medium tests open real databases: PGlite's first start in a fresh folder takes seconds.
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  }),
);
