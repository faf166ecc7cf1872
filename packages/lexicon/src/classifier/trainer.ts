import type { Category } from '@lantern/protocol';

import { tokenise } from '../normalise/tokeniser.ts';
import { CLASSIFIER_CLASSES, type ClassifierWeights } from './classifier.ts';
import { featuresOf, type FeatureSpec } from './features.ts';

const CLASSES = CLASSIFIER_CLASSES.length;

/** How the weights are fitted. */
export interface TrainingOptions {
  readonly seed: number;
  readonly epochs: number;
  readonly learningRate: number;
  /** L2 penalty on the weights of the features an example has (not on the bias). */
  readonly l2: number;
}

/** One labelled text as the trainer sees it: its features and what it should say. */
export interface Example {
  /** Distinct buckets and their values (count / √features), parallel arrays. */
  readonly buckets: Int32Array;
  readonly values: Float64Array;
  /** The target distribution over CLASSIFIER_CLASSES: benign, or shared among categories. */
  readonly target: Float64Array;
}

/** A small deterministic PRNG (mulberry32): the same seed shuffles the same way everywhere. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A text's sentences as token keys, as the scanner sees them. */
export function sentencesOf(text: string): string[][] {
  const { tokens, sentenceOf } = tokenise(text);
  const sentences: string[][] = [];
  tokens.forEach((token, index) => {
    const sentence = sentenceOf[index] ?? 0;
    (sentences[sentence] ??= []).push(token.key);
  });
  return sentences.filter((sentence) => sentence.length > 0);
}

/**
 * A labelled text as an example. The whole text is one example (its label is the text's),
 * its sentences' features pooled; the matcher scores one sentence at a time, and most texts
 * are one sentence.
 */
export function makeExample(
  spec: FeatureSpec,
  text: string,
  label: 'concern' | 'benign',
  categories: readonly Category[],
): Example {
  const all = featuresOf(spec, sentencesOf(text));
  const counts = new Map<number, number>();
  for (const bucket of all) counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => a[0] - b[0]);
  const norm = all.length > 0 ? 1 / Math.sqrt(all.length) : 0;
  const target = new Float64Array(CLASSES);
  const classes =
    label === 'benign'
      ? [0]
      : categories
          .map((category) => CLASSIFIER_CLASSES.indexOf(category))
          .filter((index) => index > 0);
  for (const index of classes.length > 0 ? classes : [0]) target[index] = 1 / classes.length;
  return {
    buckets: Int32Array.from(sorted, ([bucket]) => bucket),
    values: Float64Array.from(sorted, ([, count]) => count * norm),
    target,
  };
}

/** Float weights, as fitted (before quantising). */
export interface FittedWeights {
  readonly weights: Float32Array;
  readonly bias: Float64Array;
}

/**
 * Fit softmax regression by stochastic gradient descent with AdaGrad step sizes, one
 * example at a time in a seeded order: the same examples, options and Node version give the
 * same weights, byte for byte. L2 applies to the weights an example touches, when it
 * touches them (the usual sparse approximation), which also shrinks rare features less
 * often than common ones.
 */
export function fitSoftmax(
  examples: readonly Example[],
  buckets: number,
  options: TrainingOptions,
): FittedWeights {
  const weights = new Float32Array(buckets * CLASSES);
  const squared = new Float32Array(buckets * CLASSES);
  const bias = new Float64Array(CLASSES);
  const biasSquared = new Float64Array(CLASSES);
  const logits = new Float64Array(CLASSES);
  const gradient = new Float64Array(CLASSES);
  const next = random(options.seed);
  const order = examples.map((_, index) => index);
  const { learningRate, l2 } = options;
  const epsilon = 1e-8;
  for (let epoch = 0; epoch < options.epochs; epoch += 1) {
    // Fisher–Yates with the seeded PRNG.
    for (let index = order.length - 1; index > 0; index -= 1) {
      const other = Math.floor(next() * (index + 1));
      const swap = order[index] ?? 0;
      order[index] = order[other] ?? 0;
      order[other] = swap;
    }
    for (const exampleIndex of order) {
      const example = examples[exampleIndex];
      if (!example) continue;
      const { buckets: features, values, target } = example;
      let max = -Infinity;
      for (let c = 0; c < CLASSES; c += 1) logits[c] = bias[c] ?? 0;
      for (let f = 0; f < features.length; f += 1) {
        const base = (features[f] ?? 0) * CLASSES;
        const value = values[f] ?? 0;
        for (let c = 0; c < CLASSES; c += 1) {
          logits[c] = (logits[c] ?? 0) + (weights[base + c] ?? 0) * value;
        }
      }
      for (let c = 0; c < CLASSES; c += 1) max = Math.max(max, logits[c] ?? 0);
      let total = 0;
      for (let c = 0; c < CLASSES; c += 1) {
        const exp = Math.exp((logits[c] ?? 0) - max);
        logits[c] = exp;
        total += exp;
      }
      for (let c = 0; c < CLASSES; c += 1) {
        const g = (logits[c] ?? 0) / total - (target[c] ?? 0);
        gradient[c] = g;
        biasSquared[c] = (biasSquared[c] ?? 0) + g * g;
        bias[c] = (bias[c] ?? 0) - (learningRate * g) / (Math.sqrt(biasSquared[c] ?? 0) + epsilon);
      }
      for (let f = 0; f < features.length; f += 1) {
        const base = (features[f] ?? 0) * CLASSES;
        const value = values[f] ?? 0;
        for (let c = 0; c < CLASSES; c += 1) {
          const at = base + c;
          const w = weights[at] ?? 0;
          const g = (gradient[c] ?? 0) * value + l2 * w;
          const sum = (squared[at] ?? 0) + g * g;
          squared[at] = sum;
          weights[at] = w - (learningRate * g) / (Math.sqrt(sum) + epsilon);
        }
      }
    }
  }
  return { weights, bias };
}

/**
 * Quantise to int8, one scale per class (its largest weight maps to ±127). The logits
 * move by at most half a step per feature; the tests and the cross-validation run the
 * quantised model, so what is measured is what ships.
 */
export function quantise(fitted: FittedWeights): ClassifierWeights {
  const { weights, bias } = fitted;
  const scales = new Float64Array(CLASSES);
  for (let at = 0; at < weights.length; at += 1) {
    const c = at % CLASSES;
    scales[c] = Math.max(scales[c] ?? 0, Math.abs(weights[at] ?? 0));
  }
  for (let c = 0; c < CLASSES; c += 1) scales[c] = (scales[c] ?? 0) / 127 || 1;
  const quantised = new Int8Array(weights.length);
  for (let at = 0; at < weights.length; at += 1) {
    quantised[at] = Math.round((weights[at] ?? 0) / (scales[at % CLASSES] ?? 1));
  }
  return { quantised, scales, bias: Float64Array.from(bias) };
}
