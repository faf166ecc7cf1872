import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadLexicon, type Lexicon } from '../load/load-lexicon.ts';
import { Matcher } from '../matcher/matcher.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** The synthetic lexicon the engine's tests use. */
export const FIXTURE_LEXICON_DIR = join(here, 'lexicon');
/** A synthetic site folder over it. */
export const FIXTURE_SITE_DIR = join(here, 'site');

let cached: Promise<{ lexicon: Lexicon; matcher: Matcher }> | undefined;

export function fixtureMatcher(): Promise<{ lexicon: Lexicon; matcher: Matcher }> {
  cached ??= loadLexicon({ dir: FIXTURE_LEXICON_DIR }).then((lexicon) => ({
    lexicon,
    matcher: new Matcher(lexicon),
  }));
  return cached;
}
