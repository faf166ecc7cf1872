/**
 * Train the classifier and write `classifier/model.json`: `pnpm --filter @lantern/lexicon
 * train`. Deterministic (fixed seed, fixed order): the same data gives the same file.
 *
 * 1. Read the training data (training-data.ts): the dev sets and the lexicon's examples.
 *    Never the examiner set.
 * 2. Cross-validate (cross-validate.ts): each fold's model runs in a real Matcher behind the
 *    lexicon; pick the lowest threshold at which the classifier adds at most
 *    `maxAddedBenignRate` of the benign dev items to those the lexicon already flags.
 * 3. Fit on everything, record the threshold and the held-out figures, write the file.
 */
import { writeFileSync } from 'node:fs';

import { loadLexicon } from '../load/load-lexicon.ts';
import { BUILT_IN_CLASSIFIER_FILE, Classifier } from './classifier.ts';
import {
  crossValidate,
  fit,
  makeExamples,
  makeHeader,
  measure,
  pickThreshold,
  type TrainingConfig,
} from './cross-validate.ts';
import { readTrainingData } from './training-data.ts';

/**
 * The shipped configuration, chosen by cross-validation on the dev sets. Held-out recall at
 * 1% of benign items flagged moved within about ±2 points across 2^14–2^18 buckets, n-grams
 * of 3–3 to 3–6 or 4–5, 5–25 epochs, learning rates 0.1–0.5 and L2 0–1e-3; 2^15 buckets
 * is the smallest with nothing lost. Without character n-grams it fell by 9 points, and
 * with a learning rate of 0.03 (too slow for 12 epochs) by as much.
 */
const TRAINING_CONFIG: TrainingConfig = {
  features: {
    hash: 'fnv1a32-fmix32',
    buckets: 2 ** 15,
    words: true,
    wordPairs: true,
    charGramMin: 3,
    charGramMax: 5,
  },
  training: { seed: 20_261_101, epochs: 12, learningRate: 0.1, l2: 1e-4 },
  folds: 5,
  maxAddedBenignRate: 0.01,
  minWords: 3,
};

const progress = (message: string) => process.stderr.write(`… ${message}\n`);

async function main(): Promise<void> {
  const config = TRAINING_CONFIG;
  // The lexicon without a classifier: the model is what is being made.
  const lexicon = await loadLexicon({ classifier: false });
  const data = readTrainingData(lexicon);
  progress(`${data.items.length} training items (sha256 ${data.sha256.slice(0, 12)}…)`);
  const examples = makeExamples(config, data.items);
  progress(`${config.folds}-fold cross-validation`);
  const heldOut = crossValidate(config, lexicon, data, examples);
  const threshold = pickThreshold(heldOut, config.maxAddedBenignRate);
  const metrics = measure(heldOut, threshold, config.folds);
  progress('fitting on everything');
  const classifier = new Classifier(
    makeHeader(config, data, lexicon.version, { threshold }, metrics),
    fit(config, data.items, examples),
  );
  writeFileSync(BUILT_IN_CLASSIFIER_FILE, `${JSON.stringify(classifier.toFile(), null, 2)}\n`);
  const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
  process.stdout.write(
    [
      `wrote ${BUILT_IN_CLASSIFIER_FILE}`,
      `threshold ${threshold} (at most ${percent(config.maxAddedBenignRate)} of benign dev items added, held out)`,
      `held-out dev recall: lexicon ${percent(metrics.lexiconRecall)}, with classifier ${percent(metrics.combinedRecall)}, classifier alone ${percent(metrics.classifierAloneRecall)}`,
      `held-out dev benign flagged: lexicon ${percent(metrics.lexiconBenignRate)}, with classifier ${percent(metrics.combinedBenignRate)}, classifier alone ${percent(metrics.classifierAloneBenignRate)}`,
      '',
    ].join('\n'),
  );
}

await main();
