import { defineConfig } from 'vitest/config';

/** One Vitest run over every package: each package with tests has its own `vitest.config.ts`. */
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'test/vitest.config.ts'],
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
