// Lexicon engine benchmark (issue #4). Run: pnpm bench (needs node --expose-gc; the script sets it).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseRawPattern, RegExpMatcher, englishRecommendedTransformers } from 'obscenity';

import { compilePattern, loadLexicon, Matcher, tokenise } from '@lantern/lexicon';

import { REPO_ROOT } from '../helpers/process.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with node --expose-gc (pnpm bench does).');

/** A small deterministic PRNG (mulberry32), so every run scans the same text. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const time = (work: () => void): number => {
  const started = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - started) / 1e6;
};

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const quantile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

// ── the lexicon and the build ────────────────────────────────────────────────────────
const lexicon = await loadLexicon();
gc();
const heapBefore = process.memoryUsage().heapUsed;
let matcher = new Matcher(lexicon);
gc();
const buildMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
const buildMs = median([1, 2, 3, 4, 5].map(() => time(() => (matcher = new Matcher(lexicon)))));

// The same word sequences, as a RegExp alternation over normalised text (words joined by
// one space, gaps as up to N other words) and as obscenity patterns (gap-free ones only:
// obscenity has no gaps).
const escape = (word: string) => word.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
const alternatives: string[] = [];
const obscenityPatterns: string[] = [];
for (const entry of [...lexicon.terms]) {
  for (const pattern of entry.patterns) {
    for (const sequence of compilePattern(pattern)) {
      const parts = sequence.segments.map((segment) => segment.map(escape).join(' '));
      alternatives.push(
        parts.reduce(
          (all, part, index) => `${all}(?: \\S+){0,${sequence.gaps[index - 1] ?? 0}} ${part}`,
        ),
      );
      if (sequence.gaps.length === 0) obscenityPatterns.push(sequence.segments[0]?.join(' ') ?? '');
    }
  }
}
let regex!: RegExp;
const regexBuildMs = time(() => {
  regex = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'gu');
});

// ── 10 MB of mixed text ──────────────────────────────────────────────────────────────
const evalDir = join(REPO_ROOT, 'packages/lexicon/eval');
const material = readdirSync(evalDir)
  .filter((name) => name.endsWith('.jsonl'))
  .flatMap((name) => readFileSync(join(evalDir, name), 'utf8').split('\n'))
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line) as { text: string; label: string });
const benign = material.filter((item) => item.label === 'benign').map((item) => item.text);
const concern = material.filter((item) => item.label === 'concern').map((item) => item.text);
const words = benign.flatMap((text) => text.split(/\s+/));
const next = random(42);
const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
const lines: string[] = [];
let bytes = 0;
while (bytes < 10 * 2 ** 20) {
  const roll = next();
  const line =
    roll < 0.02
      ? pick(concern)
      : roll < 0.5
        ? pick(benign)
        : Array.from({ length: 8 + Math.floor(next() * 20) }, () => pick(words)).join(' ');
  lines.push(line);
  bytes += Buffer.byteLength(line) + 1;
}
const megabytes = bytes / 2 ** 20;

// ── throughput ───────────────────────────────────────────────────────────────────────
let flagged = 0;
const engineMs = median(
  [1, 2, 3].map(() =>
    time(() => {
      flagged = 0;
      for (const line of lines) if (matcher.scan(line, { source: 'typed' }).flagged) flagged += 1;
    }),
  ),
);
const normalise = (line: string) =>
  tokenise(line)
    .tokens.map((token) => token.key)
    .join(' ');
let normalised: string[] = [];
const normaliseMs = time(() => {
  normalised = lines.map(normalise);
});
let regexHits = 0;
const regexMs = median(
  [1, 2, 3].map(() =>
    time(() => {
      regexHits = 0;
      for (const line of normalised) {
        regex.lastIndex = 0;
        if (regex.test(line)) regexHits += 1;
      }
    }),
  ),
);

// obscenity is orders of magnitude slower with a list this size: time it on a sample.
let obscenity!: RegExpMatcher;
const obscenityBuildMs = time(() => {
  obscenity = new RegExpMatcher({
    blacklistedTerms: obscenityPatterns.map((words, id) => ({
      id,
      pattern: parseRawPattern(`|${words}|`),
    })),
    ...englishRecommendedTransformers,
  });
});
const sample = lines.slice(0, Math.max(200, Math.floor(lines.length / 200)));
const sampleMb = sample.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0) / 2 ** 20;
let obscenityHits = 0;
const obscenityMs = time(() => {
  for (const line of sample) if (obscenity.hasMatch(line)) obscenityHits += 1;
});

// ── keystrokes ───────────────────────────────────────────────────────────────────────
const typed = lines.slice(0, 2_000).join('\n');
const keys: (string | null)[] = [];
for (const char of typed) {
  if (next() < 0.03) keys.push(null); // a typo, then Backspace
  keys.push(char);
}
const streamLatency = new Float64Array(keys.length);
const stream = matcher.createStream({ source: 'typed' });
keys.forEach((key, index) => {
  const started = process.hrtime.bigint();
  if (key === null) stream.write('x');
  else stream.write(key);
  if (key === null) stream.backspace();
  streamLatency[index] = Number(process.hrtime.bigint() - started) / 1e3;
});
const naiveLatency = new Float64Array(keys.length);
let sentence = '';
keys.forEach((key, index) => {
  const started = process.hrtime.bigint();
  sentence = key === null ? sentence : key === '\n' ? '' : sentence + key;
  matcher.scan(sentence, { source: 'typed' });
  naiveLatency[index] = Number(process.hrtime.bigint() - started) / 1e3;
});
streamLatency.sort();
naiveLatency.sort();

// ── report ───────────────────────────────────────────────────────────────────────────
const rate = (mb: number, ms: number) => mb / (ms / 1000);
const engineRate = rate(megabytes, engineMs);
const regexRate = rate(megabytes, regexMs);
const regexWithNormRate = rate(megabytes, regexMs + normaliseMs);
const obscenityRate = rate(sampleMb, obscenityMs);
const p99 = quantile(streamLatency, 0.99);
const rows: [string, string][] = [
  [
    'lexicon',
    `${lexicon.version}: ${lexicon.terms.length} terms, ${matcher.sequenceCount} word sequences`,
  ],
  ['text', `${megabytes.toFixed(1)} MB in ${lines.length} lines, ${flagged} flagged`],
  ['engine (normalise + match)', `${engineRate.toFixed(1)} MB/s`],
  [
    'RegExp alternation, text already normalised',
    `${regexRate.toFixed(1)} MB/s (${regexHits} lines hit)`,
  ],
  ['RegExp alternation + the same normaliser', `${regexWithNormRate.toFixed(1)} MB/s`],
  [
    `obscenity (${obscenityPatterns.length} gap-free patterns, ${sample.length}-line sample)`,
    `${obscenityRate.toFixed(3)} MB/s (${obscenityHits} hits)`,
  ],
  [
    'ratio engine / RegExp (normalised text)',
    `${(engineRate / regexRate).toFixed(1)}×  (target ≥ 2×)`,
  ],
  ['ratio engine / RegExp + normaliser', `${(engineRate / regexWithNormRate).toFixed(1)}×`],
  ['ratio engine / obscenity', `${(engineRate / obscenityRate).toFixed(0)}×  (target ≥ 20×)`],
  ['keystrokes', `${keys.length} (3% typo + backspace)`],
  [
    'MatchStream per key p50 / p99 / p99.9 / max',
    `${quantile(streamLatency, 0.5).toFixed(2)} / ${p99.toFixed(2)} / ${quantile(streamLatency, 0.999).toFixed(1)} / ${quantile(streamLatency, 1).toFixed(0)} µs  (target p99 < 20 µs)`,
  ],
  [
    'rescan sentence per key p50 / p99',
    `${quantile(naiveLatency, 0.5).toFixed(2)} / ${quantile(naiveLatency, 0.99).toFixed(2)} µs (ratio p99 ${(quantile(naiveLatency, 0.99) / p99).toFixed(1)}×)`,
  ],
  [
    'build matcher',
    `${buildMs.toFixed(0)} ms, ${buildMb.toFixed(1)} MB heap  (target < 300 ms, < 50 MB)`,
  ],
  ['build RegExp / obscenity', `${regexBuildMs.toFixed(0)} ms / ${obscenityBuildMs.toFixed(0)} ms`],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log(rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n'));
