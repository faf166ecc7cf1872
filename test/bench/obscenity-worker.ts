// Runs obscenity on its own heap for lexicon-matching.ts: argv[2] is a JSON file
// { phrases: string[], lines: string[] }; prints { buildMs, matchMs, hits }.
import { readFileSync } from 'node:fs';

import { englishRecommendedTransformers, parseRawPattern, RegExpMatcher } from 'obscenity';

const input = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as {
  phrases: string[];
  lines: string[];
};
let started = performance.now();
const matcher = new RegExpMatcher({
  blacklistedTerms: input.phrases.map((words, id) => ({
    id,
    pattern: parseRawPattern(`|${words}|`),
  })),
  ...englishRecommendedTransformers,
});
const buildMs = performance.now() - started;
started = performance.now();
let hits = 0;
for (const line of input.lines) if (matcher.hasMatch(line)) hits += 1;
process.stdout.write(JSON.stringify({ buildMs, matchMs: performance.now() - started, hits }));
