/**
 * The second stage: a linear classifier over hashed word, word-pair and character n-gram
 * features (see features.ts), trained in this package on our own labelled text
 * (`pnpm --filter @lantern/lexicon train`) and shipped as `classifier/model.json`. Nothing
 * is downloaded at run time.
 *
 * Why multinomial logistic regression (softmax over "benign" and the 15 categories) rather
 * than one-vs-rest: we need one decision, "is this sentence a concern?", with one threshold
 * picked by cross-validation, and then the likeliest category. Softmax gives that directly,
 * P(concern) = 1 − P(benign), with the categories competing for the rest; fifteen
 * independent one-vs-rest scores would need fifteen thresholds, and taking their maximum
 * adds up their false alarms. (A binary concern-or-benign score with a separate softmax for
 * the category was tried, at the same size: on held-out folds it caught about 24% of concern items
 * at 1% of benign ones flagged, softmax 37%.) It is linear, so it is cheap: one pass over a
 * sentence's words, 16 small integer sums per feature.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

import { z } from 'zod';

import { CATEGORY_IDS, CategorySchema, describeIssues, type Category } from '@lantern/protocol';

import { LexiconError } from '../errors.ts';
import {
  SENTENCE_START_HASH,
  visitWordFeatures,
  type FeatureSpec,
  type FeatureVisitor,
} from './features.ts';

/** The shipped model (`packages/lexicon/classifier/model.json`), from src/ or dist/. */
export const BUILT_IN_CLASSIFIER_FILE = join(
  dirname(dirname(dirname(fileURLToPath(import.meta.url)))),
  'classifier',
  'model.json',
);

export const CLASSIFIER_FORMAT_VERSION = 1;

/** The classes, in the order of each bucket's weights: benign first, then the categories. */
export const CLASSIFIER_CLASSES = ['benign', ...CATEGORY_IDS] as const;
export type ClassifierClass = (typeof CLASSIFIER_CLASSES)[number];

const FeatureSpecSchema = z.strictObject({
  hash: z.literal('fnv1a32-fmix32'),
  buckets: z
    .int()
    .min(2)
    .max(2 ** 24)
    .refine((buckets) => (buckets & (buckets - 1)) === 0, 'must be a power of two'),
  words: z.boolean(),
  wordPairs: z.boolean(),
  charGramMin: z.int().min(0).max(8),
  charGramMax: z.int().min(0).max(8),
}) satisfies z.ZodType<FeatureSpec>;

/** One number per class, as an object keyed by class (readable, and diff-friendly). */
const PerClassSchema = z.record(z.enum(CLASSIFIER_CLASSES), z.number());

const RateSchema = z.number().min(0).max(1);

/** Cross-validated figures on the development set, recorded when the model was trained. */
export const ClassifierMetricsSchema = z.strictObject({
  folds: z.int().min(2),
  concernItems: z.int().min(0),
  benignItems: z.int().min(0),
  /** Recall of the lexicon alone, and with the classifier (held-out folds). */
  lexiconRecall: RateSchema,
  combinedRecall: RateSchema,
  /** Benign items flagged by the lexicon alone, and with the classifier (held-out folds). */
  lexiconBenignRate: RateSchema,
  combinedBenignRate: RateSchema,
  /** The classifier on its own, without the lexicon (held-out folds). */
  classifierAloneRecall: RateSchema,
  classifierAloneBenignRate: RateSchema,
  /** Combined recall per category on held-out folds. */
  combinedRecallByCategory: z.partialRecord(CategorySchema, RateSchema),
});
export type ClassifierMetrics = z.infer<typeof ClassifierMetricsSchema>;

/** The header of a model file: everything but the weights. */
export const ClassifierHeaderSchema = z.strictObject({
  format: z.literal('lantern-classifier'),
  formatVersion: z.literal(CLASSIFIER_FORMAT_VERSION),
  /** The lexicon it was trained with and calibrated against. */
  lexiconVersion: z.string().min(1),
  trainingData: z.strictObject({
    /** SHA-256 of the training items (see training-data.ts), lowercase hex. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    devItems: z.int().min(0),
    exampleItems: z.int().min(0),
  }),
  features: FeatureSpecSchema,
  training: z.strictObject({
    algorithm: z.literal('softmax-regression-adagrad'),
    seed: z.int(),
    epochs: z.int().min(1),
    learningRate: z.number().positive(),
    l2: z.number().min(0),
  }),
  decision: z.strictObject({
    /** A sentence is a concern when P(concern) = 1 − P(benign) reaches this. */
    threshold: z.number().gt(0).max(1),
    /** What the threshold was picked for: benign items the classifier may add (held-out). */
    maxAddedBenignRate: RateSchema,
    /** Sentences with fewer words are not classified: one word is the lexicon's job. */
    minWords: z.int().min(1),
  }),
  metrics: ClassifierMetricsSchema,
});
export type ClassifierHeader = z.infer<typeof ClassifierHeaderSchema>;

const ModelFileSchema = ClassifierHeaderSchema.extend({
  weights: z.strictObject({
    /** int8, bucket-major (a bucket's 16 class weights together), deflated, base64. */
    encoding: z.literal('int8-deflate-raw-base64'),
    /** A class's weight is its int8 times its scale. */
    scales: PerClassSchema,
    bias: PerClassSchema,
    data: z.string().min(1),
  }),
});
export type ClassifierModelFile = z.infer<typeof ModelFileSchema>;

/** The weights of a model as the trainer makes them, before they are written. */
export interface ClassifierWeights {
  /** int8 weights, bucket-major: `quantised[bucket * CLASSES + class]`. */
  readonly quantised: Int8Array;
  readonly scales: Float64Array;
  readonly bias: Float64Array;
}

const CLASSES: number = CLASSIFIER_CLASSES.length;

/** What the classifier says about one sentence. */
export interface ClassifierVerdict {
  /** P(concern) = 1 − P(benign). */
  readonly probability: number;
  /** The likeliest category. */
  readonly category: Category;
  /** Whether the probability reaches the model's threshold (and the sentence is long enough). */
  readonly fires: boolean;
}

/**
 * A loaded model. Immutable and shared: each scanner takes its own `SentenceScorer`.
 * Load the shipped one with `loadClassifier()`.
 */
export class Classifier {
  readonly header: ClassifierHeader;
  readonly threshold: number;
  readonly minWords: number;
  /** @internal read by SentenceScorer */
  readonly weights: Int8Array;
  /** @internal */
  readonly scales: Float64Array;
  /** @internal */
  readonly bias: Float64Array;

  /** @throws LexiconError `LEXICON_CLASSIFIER_INVALID` if the weights do not fit the header. */
  constructor(header: ClassifierHeader, weights: ClassifierWeights) {
    if (CLASSES !== 16) {
      // sumRows is written out for benign and the 15 categories of @lantern/protocol.
      throw new LexiconError('LEXICON_CLASSIFIER_INVALID', [
        {
          file: '(classifier)',
          line: 0,
          field: 'classes',
          message: `the scorer sums 16 classes but there are ${CLASSES}: update sumRows and retrain`,
        },
      ]);
    }
    if (weights.quantised.length !== header.features.buckets * CLASSES) {
      throw new LexiconError('LEXICON_CLASSIFIER_INVALID', [
        {
          file: '(classifier)',
          line: 0,
          field: 'weights',
          message: `the weights hold ${weights.quantised.length} values, but ${header.features.buckets} buckets × ${CLASSES} classes need ${header.features.buckets * CLASSES}`,
        },
      ]);
    }
    this.header = header;
    this.threshold = header.decision.threshold;
    this.minWords = header.decision.minWords;
    this.weights = weights.quantised;
    this.scales = weights.scales;
    this.bias = weights.bias;
  }

  /** A scorer for one sentence at a time (one per scanner; not shared between them). */
  createScorer(): SentenceScorer {
    return new SentenceScorer(this);
  }

  /** Classify one sentence given as token keys (what `tokenise` gives): for tests and tools. */
  classify(keys: readonly string[]): ClassifierVerdict {
    const scorer = this.createScorer();
    for (const key of keys) scorer.add(key);
    return scorer.verdict();
  }

  /** The model as a file: the header, then the weights. */
  toFile(): ClassifierModelFile {
    const perClass = (values: Float64Array) =>
      Object.fromEntries(
        CLASSIFIER_CLASSES.map((name, index) => [name, values[index] ?? 0]),
      ) as Record<ClassifierClass, number>;
    const bytes = new Uint8Array(
      this.weights.buffer,
      this.weights.byteOffset,
      this.weights.byteLength,
    );
    return {
      ...this.header,
      weights: {
        encoding: 'int8-deflate-raw-base64',
        scales: perClass(this.scales),
        bias: perClass(this.bias),
        data: deflateRawSync(bytes, { level: 9 }).toString('base64'),
      },
    };
  }
}

/**
 * Scores one sentence: its words are added one by one, their features' buckets collected,
 * and `verdict()` sums the buckets' weights in one pass. Nothing is allocated per word.
 */
export class SentenceScorer {
  private readonly classifier: Classifier;
  private readonly spec: FeatureSpec;
  /** The sentence's features, as buckets (grown, never shrunk: a sentence is short). */
  private buckets = new Int32Array(512);
  private features = 0;
  private words = 0;
  private previous = SENTENCE_START_HASH;
  private readonly sums = new Int32Array(CLASSES);
  private readonly logits = new Float64Array(CLASSES);
  private readonly visit: FeatureVisitor;

  constructor(classifier: Classifier) {
    this.classifier = classifier;
    this.spec = classifier.header.features;
    this.visit = (bucket) => {
      if (this.features === this.buckets.length) {
        const grown = new Int32Array(this.buckets.length * 2);
        grown.set(this.buckets);
        this.buckets = grown;
      }
      this.buckets[this.features] = bucket;
      this.features += 1;
    };
  }

  /** Add the sentence's next word (its token key). */
  add(key: string): void {
    this.previous = visitWordFeatures(this.spec, key, this.previous, this.visit);
    this.words += 1;
  }

  /** Words added since the last reset. */
  get wordCount(): number {
    return this.words;
  }

  /** P(concern) and the likeliest category for the words added so far. */
  verdict(): ClassifierVerdict {
    const { scales, bias, threshold, minWords, weights } = this.classifier;
    sumRows(weights, this.buckets, this.features, this.sums);
    // Features are scaled by 1/√n so a long sentence is not a concern for being long.
    const norm = this.features > 0 ? 1 / Math.sqrt(this.features) : 0;
    let max = -Infinity;
    const logits = this.logits;
    for (let index = 0; index < CLASSES; index += 1) {
      const logit = (bias[index] ?? 0) + (this.sums[index] ?? 0) * (scales[index] ?? 0) * norm;
      logits[index] = logit;
      if (logit > max) max = logit;
    }
    let total = 0;
    let best = 1;
    for (let index = 0; index < CLASSES; index += 1) {
      const exp = Math.exp((logits[index] ?? 0) - max);
      logits[index] = exp;
      total += exp;
      if (index > 0 && exp > (logits[best] ?? 0)) best = index;
    }
    const probability = 1 - (logits[0] ?? 0) / total;
    return {
      probability,
      category: CLASSIFIER_CLASSES[best] as Category,
      fires: probability >= threshold && this.words >= minWords,
    };
  }

  /** Start a new sentence. */
  reset(): void {
    this.features = 0;
    this.words = 0;
    this.previous = SENTENCE_START_HASH;
  }
}

/**
 * Sum the 16 class weights of each bucket into `into`. The hot loop of the classifier, so
 * written out: sixteen running sums held in locals run about twice as fast as a loop over
 * an array of sums, which stores to memory on every add.
 */
function sumRows(weights: Int8Array, buckets: Int32Array, count: number, into: Int32Array): void {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    s4 = 0,
    s5 = 0,
    s6 = 0,
    s7 = 0,
    s8 = 0,
    s9 = 0,
    s10 = 0,
    s11 = 0,
    s12 = 0,
    s13 = 0,
    s14 = 0,
    s15 = 0;
  for (let index = 0; index < count; index += 1) {
    const at = (buckets[index] ?? 0) * CLASSES;
    s0 += weights[at] ?? 0;
    s1 += weights[at + 1] ?? 0;
    s2 += weights[at + 2] ?? 0;
    s3 += weights[at + 3] ?? 0;
    s4 += weights[at + 4] ?? 0;
    s5 += weights[at + 5] ?? 0;
    s6 += weights[at + 6] ?? 0;
    s7 += weights[at + 7] ?? 0;
    s8 += weights[at + 8] ?? 0;
    s9 += weights[at + 9] ?? 0;
    s10 += weights[at + 10] ?? 0;
    s11 += weights[at + 11] ?? 0;
    s12 += weights[at + 12] ?? 0;
    s13 += weights[at + 13] ?? 0;
    s14 += weights[at + 14] ?? 0;
    s15 += weights[at + 15] ?? 0;
  }
  into.set([s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15]);
}

const loaded = new Map<string, Classifier>();

/**
 * Load a model file (default: the shipped one), once per path per process: later calls
 * return the same instance. Synchronous, so a Matcher can be built without awaiting it.
 * @throws LexiconError `LEXICON_CLASSIFIER_INVALID` if the file is missing, unreadable,
 *   or not a model this code can run.
 */
export function loadClassifier(file = BUILT_IN_CLASSIFIER_FILE): Classifier {
  const cached = loaded.get(file);
  if (cached) return cached;
  const problem = (message: string, cause?: unknown) =>
    new LexiconError(
      'LEXICON_CLASSIFIER_INVALID',
      [{ file, line: 0, field: '(model)', message }],
      cause === undefined ? undefined : { cause },
    );
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw problem(
      `cannot read the classifier model: ${(cause as Error).message}. Run pnpm --filter @lantern/lexicon train to make it.`,
      cause,
    );
  }
  const parsed = ModelFileSchema.safeParse(json);
  if (!parsed.success) {
    throw problem(
      `not a classifier model this version can run (${describeIssues(parsed.error, 3)}). Run pnpm --filter @lantern/lexicon train.`,
    );
  }
  const { weights, ...header } = parsed.data;
  let bytes: Buffer;
  try {
    bytes = inflateRawSync(Buffer.from(weights.data, 'base64'));
  } catch (cause) {
    throw problem(
      'the classifier weights are corrupt (they do not inflate). Run pnpm --filter @lantern/lexicon train.',
      cause,
    );
  }
  const perClass = (values: Partial<Record<ClassifierClass, number>>) =>
    Float64Array.from(CLASSIFIER_CLASSES, (name) => values[name] ?? 0);
  const quantised = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let classifier: Classifier;
  try {
    classifier = new Classifier(header, {
      quantised,
      scales: perClass(weights.scales),
      bias: perClass(weights.bias),
    });
  } catch (cause) {
    if (!(cause instanceof LexiconError)) throw cause;
    throw problem(cause.problems.map((found) => found.message).join('; '), cause);
  }
  loaded.set(file, classifier);
  return classifier;
}
