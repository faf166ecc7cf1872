/**
 * @lantern/lexicon — the safeguarding lexicon and its matching engine. Load the lexicon
 * (`loadLexicon`), compile it once per lexicon or policy version (`new Matcher`), then
 * `scan` texts or feed a `MatchStream` one key at a time. Every match explains itself:
 * term id, category, severity (and why it differs from the term's), span, lexicon version,
 * and the stage that found it: the lexicon, or the classifier (the second stage, which the
 * shipped lexicon comes with; `new Matcher(lexicon, { classifier: false })` leaves it out).
 */
export {
  BUILT_IN_CLASSIFIER_FILE,
  Classifier,
  CLASSIFIER_CLASSES,
  loadClassifier,
  SentenceScorer,
  type ClassifierClass,
  type ClassifierHeader,
  type ClassifierMetrics,
  type ClassifierVerdict,
} from './classifier/classifier.ts';
export {
  LexiconError,
  formatProblem,
  type LexiconErrorCode,
  type LexiconProblem,
} from './errors.ts';
export {
  BUILT_IN_LEXICON_DIR,
  applySiteOverrides,
  loadLexicon,
  type Lexicon,
  type LexiconExclusion,
  type LexiconTerm,
} from './load/load-lexicon.ts';
export { CATEGORY_PREFIX } from './load/schema.ts';
export {
  Matcher,
  MatchStream,
  STREAM_MAX_SENTENCE_CHARS,
  summarise,
  type LexiconMatch,
  type MatcherOptions,
  type ScanOptions,
  type ScanResult,
  type StreamReport,
} from './matcher/matcher.ts';
export { Tokeniser, squeeze, tokenise, type Token, type TokenSink } from './normalise/tokeniser.ts';
export {
  expandPattern,
  MAX_GAP,
  MAX_PATTERN_WORDS,
  parsePattern,
  PatternError,
  type Expansion,
  type PatternNode,
} from './pattern/pattern.ts';
export { checkExamples, type ExampleFailure } from './quality/examples.ts';
export {
  evaluate,
  EvalItemSchema,
  formatEvalReport,
  type EvalItem,
  type EvalReport,
} from './quality/evaluate.ts';
export {
  CLASSIFIER_SEVERITY,
  FLAG_MIN_SEVERITY,
  scoreClassifierMatch,
  scoreMatch,
  sentenceContext,
  type ScoreReason,
} from './scoring/score.ts';
