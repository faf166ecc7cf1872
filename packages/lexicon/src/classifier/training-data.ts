import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { AgeBand, Category, Source } from '@lantern/protocol';

import type { Lexicon } from '../load/load-lexicon.ts';
import { EvalItemSchema } from '../quality/evaluate.ts';

/** The package's development sets (`packages/lexicon/eval`), from src/ or dist/. */
export const BUILT_IN_EVAL_DIR = join(
  dirname(dirname(dirname(fileURLToPath(import.meta.url)))),
  'eval',
);

/**
 * The files of the eval folder the classifier learns from: the development sets only.
 * Only the folder's own files are listed, never its subfolders, so the blind examiner set
 * (`eval/examiner/`) is never read.
 */
const DEV_SET_FILE = /^dev-[a-z0-9-]+\.jsonl$/;

/** Development items in a run of this many lines share a fold (neighbours are often alike). */
const DEV_GROUP_LINES = 10;

/** One labelled text the classifier learns from. */
export interface TrainingItem {
  /** The dev item's id, or `<term id>/match/<n>` and `<term id>/noMatch/<n>` for examples. */
  readonly id: string;
  readonly origin: 'dev' | 'example';
  readonly text: string;
  readonly source: Source;
  readonly ageBand: AgeBand;
  readonly label: 'concern' | 'benign';
  readonly categories: readonly Category[];
  /**
   * Items of one group go to the same cross-validation fold, so a held-out fold is not
   * scored by a model that learnt its near-twins: all of one term's examples; a run of
   * neighbouring lines of a dev file.
   */
  readonly group: string;
}

export interface TrainingData {
  readonly items: readonly TrainingItem[];
  /** SHA-256 (hex) of the items as the trainer sees them: a model records it. */
  readonly sha256: string;
}

/**
 * What the classifier is trained on: every item of the development sets (`eval/dev-*.jsonl`,
 * labelled concern with its categories, or benign), every term's `examples.match` (a concern
 * of the term's category) and `examples.noMatch` (benign: near misses, written to look like
 * the term). A text seen before is skipped, so it neither counts twice nor sits in two folds.
 */
export function readTrainingData(lexicon: Lexicon, evalDir = BUILT_IN_EVAL_DIR): TrainingData {
  const items: TrainingItem[] = [];
  const seen = new Set<string>();
  const add = (item: TrainingItem) => {
    if (seen.has(item.text)) return;
    seen.add(item.text);
    items.push(item);
  };
  const files = readdirSync(evalDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && DEV_SET_FILE.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  for (const name of files) {
    readFileSync(join(evalDir, name), 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (line.trim() === '') return;
        const item = EvalItemSchema.parse(JSON.parse(line));
        add({
          id: item.id,
          origin: 'dev',
          text: item.text,
          source: item.source,
          ageBand: item.ageBand ?? 'secondary',
          label: item.label,
          categories: item.label === 'concern' ? item.categories : [],
          group: `${name}:${Math.floor(index / DEV_GROUP_LINES)}`,
        });
      });
  }
  for (const term of lexicon.terms) {
    // The age band its examples are checked in (see quality/examples.ts).
    const ageBand: AgeBand = term.ageBands.includes('secondary')
      ? 'secondary'
      : (term.ageBands[0] ?? 'secondary');
    const example = (kind: 'match' | 'noMatch', text: string, index: number) =>
      add({
        id: `${term.id}/${kind}/${index}`,
        origin: 'example',
        text,
        source: 'typed',
        ageBand,
        label: kind === 'match' ? 'concern' : 'benign',
        categories: kind === 'match' ? [term.category] : [],
        group: term.id,
      });
    term.examples.match.forEach((text, index) => example('match', text, index));
    term.examples.noMatch.forEach((text, index) => example('noMatch', text, index));
  }
  const hash = createHash('sha256');
  for (const item of items) {
    hash.update(
      `${JSON.stringify([item.origin, item.id, item.source, item.ageBand, item.label, item.categories, item.text])}\n`,
    );
  }
  return { items, sha256: hash.digest('hex') };
}
