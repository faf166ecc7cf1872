import { defineProject } from 'vitest/config';

/**
 * What every Vitest project shares: workspace packages resolve to their TypeScript sources
 * through the `@lantern/source` export condition, so tests never run against stale builds.
 * Each package's `vitest.config.ts` merges this with its own settings.
 */
export const sharedProjectConfig = defineProject({
  resolve: { conditions: ['@lantern/source'] },
  ssr: { resolve: { conditions: ['@lantern/source'] } },
});
