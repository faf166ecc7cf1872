import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { LexiconError } from '../errors.ts';
import { applySiteOverrides, loadLexicon } from '../load/load-lexicon.ts';
import { Matcher } from '../matcher/matcher.ts';
import { tokenise } from '../normalise/tokeniser.ts';
import { evaluate } from '../quality/evaluate.ts';
import { fixtureMatcher } from '../test-fixtures/fixtures.ts';
import { BUILT_IN_CLASSIFIER_FILE, Classifier, loadClassifier } from './classifier.ts';
import { fit, makeExamples, type TrainingConfig } from './cross-validate.ts';
import { featuresOf, visitWordFeatures, SENTENCE_START_HASH } from './features.ts';
import { readTrainingData } from './training-data.ts';

const classifier = loadClassifier();
const lexicon = await loadLexicon();
const lexiconOnlyLexicon = await loadLexicon({ classifier: false });
const matcher = new Matcher(lexicon);
const lexiconOnly = new Matcher(lexiconOnlyLexicon);
const trainingData = readTrainingData(lexiconOnlyLexicon);
const keysOf = (text: string) => tokenise(text).tokens.map((token) => token.key);

/**
 * Disclosures written after the model was trained, in words no training file has, that the
 * lexicon misses and the classifier catches. Of the 18 lexicon-missed disclosures written
 * to try the model, 4 were caught (these); the classifier is a net under the lexicon, not a
 * replacement. They sit near the threshold: if a retrain loses one, find out why before
 * replacing it.
 */
const UNSEEN_DISCLOSURES = [
  ["a man online keeps asking me to turn my camera on when i'm alone", 'grooming_cse'],
  ['he said if i really loved him i would send one without my top', 'csam_iioc'],
  ['i dont see myself being here by christmas', 'suicide'],
  ['they keep putting my stuff in the bin and filming it', 'bullying'],
] as const;

const HOMEWORK_AND_CHAT = [
  'we are learning about the second world war in history',
  'in biology we dissected a heart today',
  'can you help me with question four of the chemistry worksheet',
  'i need to revise for my french vocab test tomorrow',
  'the teacher said the coursework deadline is next monday',
  'we watched a documentary about climate change in geography',
  'i forgot my pe kit again so i had to sit out',
  'who wants to go to the cinema on saturday',
  'my brother keeps stealing my charger',
  "we're reading macbeth and everyone dies at the end",
];

describe('the shipped classifier model', () => {
  it('was trained on the training data as it is now', () => {
    const stale =
      'The classifier model is stale: its training data (the dev sets or the lexicon examples) ' +
      'or the lexicon changed since it was trained. Run pnpm --filter @lantern/lexicon train.';
    expect(classifier.header.trainingData.sha256, stale).toBe(trainingData.sha256);
    expect(classifier.header.lexiconVersion, stale).toBe(lexicon.version);
  });

  it('keeps the false alarms it adds within the budget it was trained for, held out', () => {
    const { metrics, decision } = classifier.header;
    expect(metrics.combinedBenignRate - metrics.lexiconBenignRate).toBeLessThanOrEqual(
      decision.maxAddedBenignRate + 1e-9,
    );
    expect(metrics.combinedRecall).toBeGreaterThanOrEqual(metrics.lexiconRecall);
    expect(decision.threshold).toBeGreaterThanOrEqual(0.5);
  });

  it('ships small: under 1.5 MB', () => {
    expect(statSync(BUILT_IN_CLASSIFIER_FILE).size).toBeLessThan(1.5 * 2 ** 20);
  });

  it('is loaded once per process, and comes with the shipped lexicon only', async () => {
    expect(loadClassifier()).toBe(classifier);
    expect(lexicon.classifier).toBe(classifier);
    expect(matcher.classifier).toBe(classifier);
    expect((await fixtureMatcher()).matcher.classifier).toBeUndefined();
    expect(lexiconOnly.classifier).toBeUndefined();
    expect(new Matcher(lexicon, { classifier: false }).classifier).toBeUndefined();
  });

  it('refuses a file that is not a model, saying which file and what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lantern-model-'));
    try {
      const file = join(dir, 'model.json');
      await writeFile(file, JSON.stringify({ format: 'something-else' }));
      expect(() => loadClassifier(file)).toThrow(LexiconError);
      expect(() => loadClassifier(file)).toThrow(
        /model\.json.*pnpm --filter @lantern\/lexicon train/s,
      );
      expect(() => loadClassifier(join(file, 'missing.json'))).toThrow(/cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('classifier features', () => {
  it('hashes words to the buckets the model was trained with', () => {
    // If this changes, every shipped weight is in the wrong bucket: retrain and update.
    expect(featuresOf(classifier.header.features, [['i', 'wil']])).toEqual([
      9367, 28084, 27212, 18714, 11988, 19760, 3739, 22281, 25600, 18874, 15652,
    ]);
  });

  it('gives a word itself, its pair with the word before, and its n-grams with edges', () => {
    const buckets: number[] = [];
    visitWordFeatures(classifier.header.features, 'abc', SENTENCE_START_HASH, (bucket) =>
      buckets.push(bucket),
    );
    // word + pair + "<abc>" in 3-grams (3), 4-grams (2) and 5-grams (1).
    expect(buckets).toHaveLength(8);
  });
});

describe('classifier inference', () => {
  it('is deterministic: the same sentence scores the same, whatever was scored before', () => {
    const keys = keysOf(UNSEEN_DISCLOSURES[0][0]);
    const first = classifier.classify(keys);
    const scorer = classifier.createScorer();
    for (const key of keysOf('something else entirely, to leave state behind')) scorer.add(key);
    scorer.reset();
    for (const key of keys) scorer.add(key);
    expect(scorer.verdict()).toEqual(first);
    expect(matcher.scan(UNSEEN_DISCLOSURES[0][0], { source: 'typed' })).toEqual(
      matcher.scan(UNSEEN_DISCLOSURES[0][0], { source: 'typed' }),
    );
  });

  it('trains deterministically: the same data and seed give the same weights', () => {
    const config: TrainingConfig = {
      features: { ...classifier.header.features, buckets: 2 ** 10 },
      training: { seed: 7, epochs: 2, learningRate: 0.1, l2: 1e-4 },
      folds: 2,
      maxAddedBenignRate: 0.01,
      minWords: 3,
    };
    const items = trainingData.items.slice(0, 300);
    const once = fit(config, items, makeExamples(config, items));
    const twice = fit(config, items, makeExamples(config, items));
    expect(once.quantised).toEqual(twice.quantised);
    expect(once.bias).toEqual(twice.bias);
    expect(once.quantised.some((weight) => weight !== 0)).toBe(true);
  });

  it('classifies only sentences of at least minWords words', () => {
    // With the lowest threshold there is, every long enough sentence fires.
    const eager = new Classifier(
      {
        ...classifier.header,
        decision: { ...classifier.header.decision, threshold: Number.MIN_VALUE, minWords: 3 },
      },
      { quantised: classifier.weights, scales: classifier.scales, bias: classifier.bias },
    );
    expect(eager.classify(['go', 'away']).fires).toBe(false);
    expect(eager.classify(['go', 'away', 'now']).fires).toBe(true);
  });
});

describe('the classifier in the Matcher', () => {
  it.each(UNSEEN_DISCLOSURES)(
    'flags a disclosure the lexicon misses, as the classifier: "%s"',
    (text, category) => {
      expect(trainingData.items.map((item) => item.text)).not.toContain(text);
      expect(lexiconOnly.scan(text, { source: 'typed' }).flagged).toBe(false);
      const result = matcher.scan(text, { source: 'typed' });
      expect(result).toMatchObject({ flagged: true, severity: 3, categories: [category] });
      const found = result.matches.filter((match) => match.stage === 'classifier');
      expect(found).toEqual([
        {
          termId: `classifier.${category}`,
          category,
          severity: 3,
          termSeverity: 3,
          reasons: ['classifier'],
          start: 0,
          end: text.length,
          stage: 'classifier',
          language: 'und',
          lexiconVersion: lexicon.version,
          probability: expect.any(Number),
        },
      ]);
      expect(found[0]?.probability).toBeGreaterThanOrEqual(classifier.threshold);
    },
  );

  it('leaves homework and everyday chat alone', () => {
    const flagged = HOMEWORK_AND_CHAT.filter(
      (text) => matcher.scan(text, { source: 'typed' }).flagged,
    );
    expect(flagged).toEqual([]);
  });

  it('stays silent where the lexicon already flags the sentence', () => {
    const result = matcher.scan("i'm going to kill myself tonight", { source: 'typed' });
    expect(result.flagged).toBe(true);
    expect(result.matches.every((match) => match.stage === 'lexicon')).toBe(true);
  });

  it('never fires in a sentence an exclusion covers', () => {
    const [text] = UNSEEN_DISCLOSURES[0];
    const excluding = new Matcher(
      applySiteOverrides(lexicon, [
        {
          action: 'add_exclusion',
          exclusionId: 'site.webcam-club',
          pattern: 'camera on',
          note: 'the webcam club',
        },
      ]),
    );
    expect(excluding.classifier).toBe(classifier);
    expect(excluding.scan(text, { source: 'typed' }).matches).toEqual([]);
    // Nor in any of the shipped exclusions' own examples.
    const fired = lexicon.exclusions.flatMap((exclusion) =>
      (exclusion.examples?.suppress ?? []).filter((example) =>
        matcher
          .scan(example, { source: 'typed' })
          .matches.some((match) => match.stage === 'classifier'),
      ),
    );
    expect(fired).toEqual([]);
  });

  it('classifies sentence by sentence, the match spanning its sentence in the original text', () => {
    const disclosure = 'A man online keeps asking me to turn my CAMERA on when im alone';
    const text = `we did maths today. ${disclosure}!! anyway see you tomorrow`;
    const found = matcher.scan(text, { source: 'typed' }).matches;
    expect(found.map((match) => [match.stage, text.slice(match.start, match.end)])).toEqual([
      ['classifier', disclosure],
    ]);
  });

  it('gives a window title severity 2: it flags, lower than typed text', () => {
    const [text] = UNSEEN_DISCLOSURES[0];
    expect(matcher.scan(text, { source: 'window_title' }).matches).toMatchObject([
      { stage: 'classifier', severity: 2, reasons: ['classifier', 'window_title'] },
    ]);
  });

  it('leaves staff text to the lexicon', () => {
    const [text] = UNSEEN_DISCLOSURES[0];
    expect(matcher.scan(text, { source: 'typed', ageBand: 'staff' }).matches).toEqual([]);
    expect(matcher.scan(text, { source: 'typed', ageBand: 'primary' }).flagged).toBe(true);
  });

  it('reports through MatchStream when the sentence completes, offsets in the sentence', () => {
    const [text, category] = UNSEEN_DISCLOSURES[2];
    const stream = matcher.createStream({ source: 'typed' });
    const reports = [];
    for (const char of `ok. ${text}`) reports.push(...stream.write(char));
    expect(reports).toEqual([]);
    reports.push(...stream.flush());
    expect(reports).toMatchObject([
      { text, matches: [{ stage: 'classifier', category, start: 0, end: text.length }] },
    ]);
  });

  it('is counted apart in an evaluation', () => {
    const report = evaluate(matcher, [
      {
        id: 'a',
        source: 'typed',
        text: UNSEEN_DISCLOSURES[1][0],
        label: 'concern',
        categories: ['csam_iioc'],
      },
      {
        id: 'b',
        source: 'typed',
        text: 'i want to kill myself',
        label: 'concern',
        categories: ['suicide'],
      },
      {
        id: 'c',
        source: 'typed',
        text: HOMEWORK_AND_CHAT[0] ?? '',
        label: 'benign',
        categories: [],
      },
    ]);
    expect(report).toMatchObject({
      concern: 2,
      benign: 1,
      classifierOnly: { concern: 1, benign: 0 },
    });
    expect(evaluate(lexiconOnly, []).classifierOnly).toBeUndefined();
  });
});
