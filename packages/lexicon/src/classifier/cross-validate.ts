import { CATEGORY_IDS, type Category } from '@lantern/protocol';

import type { Lexicon } from '../load/load-lexicon.ts';
import { Matcher } from '../matcher/matcher.ts';
import { FLAG_MIN_SEVERITY } from '../scoring/score.ts';
import {
  Classifier,
  CLASSIFIER_FORMAT_VERSION,
  type ClassifierHeader,
  type ClassifierMetrics,
  type ClassifierWeights,
} from './classifier.ts';
import type { FeatureSpec } from './features.ts';
import {
  fitSoftmax,
  makeExample,
  quantise,
  random,
  sentencesOf,
  type Example,
  type TrainingOptions,
} from './trainer.ts';
import type { TrainingData, TrainingItem } from './training-data.ts';

/** Everything a training run is given, besides the data. */
export interface TrainingConfig {
  readonly features: FeatureSpec;
  readonly training: TrainingOptions;
  readonly folds: number;
  /** The share of benign dev items the classifier may add to the lexicon's false alarms. */
  readonly maxAddedBenignRate: number;
  readonly minWords: number;
}

/** A held-out development item and what the two stages said about it. */
export interface HeldOutItem {
  readonly item: TrainingItem;
  /** The lexicon flagged it. */
  readonly lexiconFlagged: boolean;
  /**
   * The highest P(concern) the classifier gave a sentence the lexicon left silent (no
   * flagging match, no exclusion), or −1 if there was none: what the matcher would act on.
   */
  readonly gatedProbability: number;
  /** The highest P(concern) of any of its sentences: the classifier on its own. */
  readonly aloneProbability: number;
}

/** A header for a model under construction (metrics and threshold filled in later). */
export function makeHeader(
  config: TrainingConfig,
  data: TrainingData,
  lexiconVersion: string,
  decision: { threshold: number },
  metrics: ClassifierMetrics,
): ClassifierHeader {
  return {
    format: 'lantern-classifier',
    formatVersion: CLASSIFIER_FORMAT_VERSION,
    lexiconVersion,
    trainingData: {
      sha256: data.sha256,
      devItems: data.items.filter((item) => item.origin === 'dev').length,
      exampleItems: data.items.filter((item) => item.origin === 'example').length,
    },
    features: config.features,
    training: { algorithm: 'softmax-regression-adagrad', ...config.training },
    decision: {
      threshold: decision.threshold,
      maxAddedBenignRate: config.maxAddedBenignRate,
      minWords: config.minWords,
    },
    metrics,
  };
}

const EMPTY_METRICS: ClassifierMetrics = {
  folds: 2,
  concernItems: 0,
  benignItems: 0,
  lexiconRecall: 0,
  combinedRecall: 0,
  lexiconBenignRate: 0,
  combinedBenignRate: 0,
  classifierAloneRecall: 0,
  classifierAloneBenignRate: 0,
  combinedRecallByCategory: {},
};

/** Fit and quantise a model on some items. */
export function fit(
  config: TrainingConfig,
  items: readonly TrainingItem[],
  examples: ReadonlyMap<TrainingItem, Example>,
): ClassifierWeights {
  const chosen = items.map((item) => examples.get(item)).filter((example) => !!example);
  return quantise(fitSoftmax(chosen, config.features.buckets, config.training));
}

/** Every item's example, made once. */
export function makeExamples(
  config: TrainingConfig,
  items: readonly TrainingItem[],
): Map<TrainingItem, Example> {
  return new Map(
    items.map((item) => [
      item,
      makeExample(config.features, item.text, item.label, item.categories),
    ]),
  );
}

/**
 * k-fold cross-validation, folds by group (a term's examples, a run of dev lines), shuffled
 * with the training seed. Each fold's model is quantised and run inside a real Matcher over
 * the held-out development items, so the figures are those of what ships. Only dev items
 * are scored: the lexicon's own examples match it by construction.
 */
export function crossValidate(
  config: TrainingConfig,
  lexicon: Lexicon,
  data: TrainingData,
  examples: ReadonlyMap<TrainingItem, Example>,
): HeldOutItem[] {
  const groups = [...new Set(data.items.map((item) => item.group))];
  const next = random(config.training.seed ^ 0x9e3779b9);
  for (let index = groups.length - 1; index > 0; index -= 1) {
    const other = Math.floor(next() * (index + 1));
    [groups[index], groups[other]] = [groups[other] ?? '', groups[index] ?? ''];
  }
  const foldOf = new Map(groups.map((group, index) => [group, index % config.folds]));
  const heldOut: HeldOutItem[] = [];
  for (let fold = 0; fold < config.folds; fold += 1) {
    const train = data.items.filter((item) => foldOf.get(item.group) !== fold);
    const test = data.items.filter(
      (item) => foldOf.get(item.group) === fold && item.origin === 'dev',
    );
    // The smallest threshold there is: every sentence the gate lets through gets a match
    // carrying its probability, and the threshold is picked afterwards.
    const classifier = new Classifier(
      makeHeader(config, data, lexicon.version, { threshold: Number.MIN_VALUE }, EMPTY_METRICS),
      fit(config, train, examples),
    );
    const matcher = new Matcher(lexicon, { classifier });
    for (const item of test) {
      const result = matcher.scan(item.text, { source: item.source, ageBand: item.ageBand });
      let gatedProbability = -1;
      let lexiconFlagged = false;
      for (const match of result.matches) {
        if (match.stage === 'lexicon' && match.severity >= FLAG_MIN_SEVERITY) lexiconFlagged = true;
        if (match.stage === 'classifier')
          gatedProbability = Math.max(gatedProbability, match.probability ?? 0);
      }
      let aloneProbability = -1;
      for (const sentence of sentencesOf(item.text)) {
        if (sentence.length < config.minWords) continue;
        aloneProbability = Math.max(aloneProbability, classifier.classify(sentence).probability);
      }
      heldOut.push({ item, lexiconFlagged, gatedProbability, aloneProbability });
    }
  }
  return heldOut;
}

/**
 * The lowest threshold (rounded up to 1/1000) at which the classifier adds no more than
 * `maxAddedBenignRate` of the benign items to those the lexicon already flags.
 */
export function pickThreshold(heldOut: readonly HeldOutItem[], maxAddedBenignRate: number): number {
  const benign = heldOut.filter((entry) => entry.item.label === 'benign');
  const allowed = Math.floor(maxAddedBenignRate * benign.length);
  const added = benign
    .filter((entry) => !entry.lexiconFlagged && entry.gatedProbability >= 0)
    .map((entry) => entry.gatedProbability)
    .sort((a, b) => b - a);
  // Strictly above the (allowed + 1)-th highest benign probability.
  const bar = added[allowed];
  if (bar === undefined) return 0.5;
  return Math.min(1, Math.max(0.5, Math.floor(bar * 1000 + 1) / 1000));
}

/** The figures of held-out items at a threshold. */
export function measure(
  heldOut: readonly HeldOutItem[],
  threshold: number,
  folds: number,
): ClassifierMetrics {
  const concern = heldOut.filter((entry) => entry.item.label === 'concern');
  const benign = heldOut.filter((entry) => entry.item.label === 'benign');
  const combined = (entry: HeldOutItem) =>
    entry.lexiconFlagged || entry.gatedProbability >= threshold;
  const alone = (entry: HeldOutItem) => entry.aloneProbability >= threshold;
  const rate = (entries: readonly HeldOutItem[], test: (entry: HeldOutItem) => boolean) =>
    entries.length === 0 ? 0 : round(entries.filter(test).length / entries.length);
  const byCategory: Partial<Record<Category, number>> = {};
  for (const category of CATEGORY_IDS) {
    const items = concern.filter((entry) => entry.item.categories.includes(category));
    if (items.length > 0) byCategory[category] = rate(items, combined);
  }
  return {
    folds,
    concernItems: concern.length,
    benignItems: benign.length,
    lexiconRecall: rate(concern, (entry) => entry.lexiconFlagged),
    combinedRecall: rate(concern, combined),
    lexiconBenignRate: rate(benign, (entry) => entry.lexiconFlagged),
    combinedBenignRate: rate(benign, combined),
    classifierAloneRecall: rate(concern, alone),
    classifierAloneBenignRate: rate(benign, alone),
    combinedRecallByCategory: byCategory,
  };
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;
