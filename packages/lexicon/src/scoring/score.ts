import type { AgeBand, Category, Severity, Source } from '@lantern/protocol';

import { squeeze } from '../normalise/tokeniser.ts';

/**
 * Why a match's severity differs from its term's; `classifier`: the match is the
 * classifier's, whose severity is set by `scoreClassifierMatch`.
 */
export type ScoreReason =
  'first_person_intent' | 'time_word' | 'window_title' | 'age_band' | 'classifier';

/** Words of the sentence that change how serious a match is (token keys: squeezed, as the tokeniser makes them). */
export interface SentenceContext {
  readonly firstPerson: boolean;
  readonly intent: boolean;
  readonly time: boolean;
}

// Token keys are squeezed ("will" → "wil", "soon" → "son"): so are these words.
const keys = (words: readonly string[]) => new Set(words.map(squeeze));
const FIRST_PERSON = keys(['i', 'im', 'ive', 'ill', 'id', 'me', 'my', 'myself', 'imma', 'iam']);
const INTENT = keys([
  'want',
  'wanna',
  'gonna',
  'going',
  'gna',
  'will',
  'plan',
  'planning',
  'planned',
  'ready',
  'need',
  'tryna',
  'gotta',
  'decided',
  'wish',
  'about',
  'finally',
  'shall',
  'gon',
]);
const TIME = keys([
  'tonight',
  'tonite',
  '2nite',
  'today',
  '2day',
  'tomorrow',
  'tmrw',
  'tmr',
  '2moro',
  'now',
  'rn',
  'soon',
  'weekend',
  'asap',
  'later',
  'morning',
  'afterschool',
  'lunchtime',
  'midnight',
]);
/** Two-word times: "after school", "this weekend" is covered by "weekend". */
const TIME_PAIRS = new Set([
  `${squeeze('after')} ${squeeze('school')}`,
  `${squeeze('at')} ${squeeze('lunch')}`,
  `${squeeze('this')} ${squeeze('evening')}`,
]);

/** Categories where first-person intent ("i'm going to", "i want to") makes a match more serious. */
const INTENT_RAISES: ReadonlySet<Category> = new Set([
  'suicide',
  'self_harm',
  'weapons_violence',
  'eating_disorder',
  'extremism',
]);
/** Categories where a time ("tonight", "after school") makes a match more urgent. */
const TIME_RAISES: ReadonlySet<Category> = new Set([
  'suicide',
  'self_harm',
  'weapons_violence',
  'grooming_cse',
]);
/** Categories taken more seriously for primary-age children. */
const PRIMARY_RAISES: ReadonlySet<Category> = new Set(['grooming_cse', 'csam_iioc', 'pornography']);

/** A capture is made (the text is "flagged") when a match scores at least this. */
export const FLAG_MIN_SEVERITY = 2;

/** What the sentence around the matches says, from its token keys. */
export function sentenceContext(words: readonly string[]): SentenceContext {
  let firstPerson = false;
  let intent = false;
  let time = false;
  let previous = '';
  for (const key of words) {
    if (FIRST_PERSON.has(key)) firstPerson = true;
    else if (INTENT.has(key)) intent = true;
    else if (TIME.has(key) || TIME_PAIRS.has(`${previous} ${key}`)) time = true;
    previous = key;
  }
  return { firstPerson, intent, time };
}

/**
 * A match's severity from its term's, the sentence, the source and the age band:
 * first-person intent and a time each raise it by one in the categories where they mean
 * more danger; a window title (what the pupil looked at, not what they said) lowers it
 * by one but never below 2 when the term itself flags; primary age raises grooming, image
 * requests and pornography by one. Always 1–5.
 */
export function scoreMatch(
  base: Severity,
  category: Category,
  context: SentenceContext,
  source: Source,
  ageBand: AgeBand,
): { severity: Severity; reasons: ScoreReason[] } {
  let severity: number = base;
  const reasons: ScoreReason[] = [];
  if (INTENT_RAISES.has(category) && context.firstPerson && context.intent) {
    severity += 1;
    reasons.push('first_person_intent');
  }
  if (TIME_RAISES.has(category) && context.time && (context.firstPerson || context.intent)) {
    severity += 1;
    reasons.push('time_word');
  }
  if (ageBand === 'primary' && PRIMARY_RAISES.has(category)) {
    severity += 1;
    reasons.push('age_band');
  }
  if (source === 'window_title' && severity > FLAG_MIN_SEVERITY) {
    severity = Math.max(FLAG_MIN_SEVERITY, severity - 1);
    reasons.push('window_title');
  }
  return { severity: Math.min(5, Math.max(1, severity)), reasons };
}

/** What a classifier match is worth before the source is considered: see `scoreClassifierMatch`. */
export const CLASSIFIER_SEVERITY = 3 satisfies Severity;

/**
 * The severity of a classifier match: 3 ("concern, review today"), 2 for a window title.
 * It flags, so a DSL sees it, but never reaches 4, the severity that alerts within the
 * hour: a classifier cannot say which words made it fire, so it asks for a review rather
 * than an interruption, and it is not raised by intent, time or age band (the sentence's
 * words already went into its probability).
 */
export function scoreClassifierMatch(source: Source): {
  severity: Severity;
  termSeverity: Severity;
  reasons: ScoreReason[];
} {
  return source === 'window_title'
    ? { severity: 2, termSeverity: CLASSIFIER_SEVERITY, reasons: ['classifier', 'window_title'] }
    : { severity: CLASSIFIER_SEVERITY, termSeverity: CLASSIFIER_SEVERITY, reasons: ['classifier'] };
}
