import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** This collector's version, from its package.json (works from src/ and from dist/). */
export const COLLECTOR_VERSION: string = (require('../package.json') as { version: string })
  .version;
