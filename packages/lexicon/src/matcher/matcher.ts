import type { AgeBand, Category, DetectorStage, Severity, Source } from '@lantern/protocol';

import type { Classifier, SentenceScorer } from '../classifier/classifier.ts';
import type { Lexicon, LexiconExclusion, LexiconTerm } from '../load/load-lexicon.ts';
import { Tokeniser, type Token, type TokenSink } from '../normalise/tokeniser.ts';
import { parsePattern } from '../pattern/pattern.ts';
import {
  FLAG_MIN_SEVERITY,
  scoreClassifierMatch,
  scoreMatch,
  sentenceContext,
  type ScoreReason,
} from '../scoring/score.ts';
import { WordNfa, type DfaState } from './word-nfa.ts';

/**
 * One hit, explaining itself. Offsets are UTF-16 indices into the scanned text. Most come
 * from the lexicon (`stage: 'lexicon'`, a term's id); a sentence the lexicon left silent may
 * be flagged by the classifier (`stage: 'classifier'`, term id `classifier.<category>`,
 * with its `probability`, spanning the sentence).
 */
export interface LexiconMatch {
  /** The term's id, or `classifier.<category>` for the classifier. */
  readonly termId: string;
  readonly category: Category;
  /** After scoring: the sentence, the source and the age band. */
  readonly severity: Severity;
  /** The term's own severity (for the classifier, the severity it gives: see score.ts). */
  readonly termSeverity: Severity;
  readonly reasons: readonly ScoreReason[];
  readonly start: number;
  readonly end: number;
  /** Which stage found it: the explainable lexicon, or the classifier. */
  readonly stage: DetectorStage;
  /** The term's language; `und` for the classifier. */
  readonly language: string;
  readonly lexiconVersion: string;
  /** The classifier's P(concern) for the sentence (classifier matches only). */
  readonly probability?: number;
}

/** What a scan found: flagged when a match scores at least FLAG_MIN_SEVERITY. */
export interface ScanResult {
  readonly flagged: boolean;
  /** The highest match severity (1–5), 0 when nothing matched. */
  readonly severity: number;
  readonly categories: readonly Category[];
  readonly matches: readonly LexiconMatch[];
}

export interface ScanOptions {
  readonly source: Source;
  /** The age band whose terms apply; default `secondary`. */
  readonly ageBand?: AgeBand;
  /**
   * Keep a match that lies inside a longer, at least as serious one (normally dropped as
   * noise). For checking a lexicon's examples, where each term must show it matches.
   */
  readonly keepContained?: boolean;
}

/** How a Matcher is built. */
export interface MatcherOptions {
  /**
   * The second stage. Default: the lexicon's own (`loadLexicon()` gives the shipped lexicon
   * the shipped model; a lexicon from another folder has none). `false` turns it off.
   */
  readonly classifier?: Classifier | false;
}

interface Hit {
  readonly owner: number;
  readonly startPos: number;
  readonly endPos: number;
}

/** Summarise matches as a scan result. */
export function summarise(matches: readonly LexiconMatch[]): ScanResult {
  let severity = 0;
  const categories: Category[] = [];
  for (const match of matches) {
    severity = Math.max(severity, match.severity);
    if (!categories.includes(match.category)) categories.push(match.category);
  }
  return {
    flagged: severity >= FLAG_MIN_SEVERITY,
    severity,
    categories,
    matches,
  };
}

/**
 * The whole lexicon compiled once into one word automaton: build it per lexicon (and per
 * policy version), then scan any number of texts or keystroke streams with it.
 */
export class Matcher {
  readonly version: string;
  readonly termCount: number;
  /** Words (and gap slots) in the compiled automaton: its size. */
  readonly positionCount: number;
  /** The second stage, when there is one: it classifies the sentences the lexicon leaves silent. */
  readonly classifier: Classifier | undefined;
  /**
   * One scorer for every scanner of this matcher: a sentence is scored start to finish in
   * one synchronous call, so they never interleave, and a scan or a Backspace (which starts
   * a new scanner) allocates nothing for the classifier.
   */
  private readonly scorer: SentenceScorer | undefined;
  private readonly terms: readonly LexiconTerm[];
  private readonly exclusions: readonly LexiconExclusion[];
  private readonly wordIds = new Map<string, number>();
  private readonly nfa = new WordNfa();
  /** Owner → which `together` term and part it is. */
  private readonly parts: { term: number; part: number; of: number }[] = [];
  private readonly maskCache = new Map<string, number | undefined>();

  constructor(lexicon: Lexicon, options: MatcherOptions = {}) {
    this.version = lexicon.version;
    this.classifier =
      options.classifier === false ? undefined : (options.classifier ?? lexicon.classifier);
    this.scorer = this.classifier?.createScorer();
    this.terms = lexicon.terms;
    this.exclusions = lexicon.exclusions;
    this.termCount = lexicon.terms.length;
    const wordId = (key: string) => this.wordId(key);
    // Owners: terms are 0…n-1, exclusions n…; one automaton holds both.
    lexicon.terms.forEach((term, index) => {
      for (const pattern of term.patterns) this.nfa.add(parsePattern(pattern), index, wordId);
    });
    lexicon.exclusions.forEach((exclusion, index) => {
      for (const pattern of exclusion.patterns)
        this.nfa.add(parsePattern(pattern), this.termCount + index, wordId);
    });
    // The parts of `together` terms: owners after the exclusions, one per part.
    lexicon.terms.forEach((term, termIndex) => {
      term.together?.forEach((pattern, part) => {
        const owner = this.termCount + lexicon.exclusions.length + this.parts.length;
        this.nfa.add(parsePattern(pattern), owner, wordId);
        this.parts.push({ term: termIndex, part, of: term.together?.length ?? 0 });
      });
    });
    this.nfa.build();
    this.positionCount = this.nfa.positionCount;
  }

  private wordId(key: string): number {
    let id = this.wordIds.get(key);
    if (id === undefined) {
      id = this.wordIds.size;
      this.wordIds.set(key, id);
    }
    return id;
  }

  /** The word id of a token, resolving masked letters (`k*ll`) against the lexicon's words. */
  idOf(token: Token): number | undefined {
    if (!token.masked) return this.wordIds.get(token.key);
    if (this.maskCache.has(token.text)) return this.maskCache.get(token.text);
    const letters = token.text.replace(/\*/g, '');
    let id: number | undefined;
    // Two letters at least, and at least as many letters as masks, or "****" would match anything.
    if (letters.length >= 2 && letters.length >= token.text.length - letters.length) {
      let source = '^';
      let previous = '';
      for (const char of token.text) {
        if (char === '*') source += '.?';
        else if (char !== previous) source += char.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
        previous = char;
      }
      const pattern = new RegExp(`${source}$`, 'u');
      for (const [key, candidate] of this.wordIds) {
        if (key.length >= letters.length - 1 && pattern.test(key)) {
          id = candidate;
          break;
        }
      }
    }
    if (this.maskCache.size > 10_000) this.maskCache.clear();
    this.maskCache.set(token.text, id);
    return id;
  }

  /** Scan a whole text. */
  scan(text: string, options: ScanOptions): ScanResult {
    const matches: LexiconMatch[] = [];
    const scanner = new Scanner(this, options, (found) => matches.push(...found));
    const tokeniser = new Tokeniser(scanner);
    tokeniser.write(text);
    tokeniser.end();
    return summarise(matches);
  }

  /** A per-field stream for typed text: see `MatchStream`. */
  createStream(options: ScanOptions): MatchStream {
    return new MatchStream(this, options);
  }

  /** @internal for the scanner */
  get internals() {
    return {
      nfa: this.nfa,
      terms: this.terms,
      exclusions: this.exclusions,
      termCount: this.termCount,
      parts: this.parts,
      scorer: this.scorer,
    };
  }
}

/**
 * Runs the automaton over tokens, one sentence at a time. Phrases never cross a sentence
 * end; exclusions and scoring look at the whole sentence, so matches are settled when the
 * sentence ends.
 */
class Scanner implements TokenSink {
  private readonly matcher: Matcher;
  private readonly options: ScanOptions & { ageBand: AgeBand };
  private readonly onMatches: (matches: LexiconMatch[]) => void;
  private state: DfaState;
  /** Whether the classifier looks at this text: the matcher has one and the text is a pupil's. */
  private readonly classifies: boolean;
  private tokens: Token[] = [];
  /** The sentence's words as automaton word ids, for finding where matches began. */
  private words: (number | undefined)[] = [];
  /** Owners whose pattern ended at a word: resolved to hits (with starts) when the sentence settles. */
  private accepted: { owner: number; end: number }[] = [];

  constructor(
    matcher: Matcher,
    options: ScanOptions,
    onMatches: (matches: LexiconMatch[]) => void,
  ) {
    this.matcher = matcher;
    this.options = { ...options, ageBand: options.ageBand ?? 'secondary' };
    this.onMatches = onMatches;
    this.state = matcher.internals.nfa.start();
    // Pupils' text only: the model learnt from what children write, and staff write about
    // safeguarding for a living (a DSL's notes would be its false alarms).
    this.classifies = matcher.classifier !== undefined && this.options.ageBand !== 'staff';
  }

  token(token: Token): void {
    const { nfa } = this.matcher.internals;
    const id = this.matcher.idOf(token);
    this.tokens.push(token);
    this.words.push(id);
    this.state = nfa.step(this.state, id);
    const end = this.tokens.length - 1;
    for (const owner of this.state.accepts) this.accepted.push({ owner, end });
  }

  sentenceEnd(): void {
    let matches: LexiconMatch[] = [];
    let excluded = false;
    if (this.accepted.length > 0) {
      const { termHits, exclusionHits, partHits } = this.resolveHits();
      this.joinParts(termHits, partHits);
      excluded = exclusionHits.length > 0;
      if (termHits.length > 0) matches = this.settle(termHits, exclusionHits);
    }
    // The classifier speaks only where the lexicon is silent: nothing flags in the sentence,
    // and no exclusion (a lesson, an idiom, a game) explains it.
    if (
      this.classifies &&
      !excluded &&
      !matches.some((match) => match.severity >= FLAG_MIN_SEVERITY)
    ) {
      const found = this.classify();
      if (found) matches.push(found);
    }
    if (matches.length > 0) this.onMatches(matches);
    this.state = this.matcher.internals.nfa.start();
    this.tokens = [];
    this.words = [];
    this.accepted = [];
  }

  /**
   * The classifier's match for the sentence, if it fires: it spans the whole sentence.
   * Scored here, once the sentence is complete and only if the lexicon left it silent,
   * rather than word by word: a Backspace re-reads the sentence, and would re-score it.
   */
  private classify(): LexiconMatch | undefined {
    const { scorer } = this.matcher.internals;
    const { tokens } = this;
    const first = tokens[0];
    const last = tokens[tokens.length - 1];
    if (!scorer || !first || !last) return undefined;
    scorer.reset();
    for (const token of tokens) scorer.add(token.key);
    const verdict = scorer.verdict();
    if (!verdict.fires) return undefined;
    const scored = scoreClassifierMatch(this.options.source);
    return {
      termId: `classifier.${verdict.category}`,
      category: verdict.category,
      severity: scored.severity,
      termSeverity: scored.termSeverity,
      reasons: scored.reasons,
      start: first.start,
      end: last.end,
      stage: 'classifier',
      language: 'und',
      lexiconVersion: this.matcher.version,
      probability: verdict.probability,
    };
  }

  /** Turn what the automaton accepted into hits with their spans, by kind of owner. */
  private resolveHits(): { termHits: Hit[]; exclusionHits: Hit[]; partHits: Hit[] } {
    const { nfa, termCount, exclusions, parts } = this.matcher.internals;
    const termHits: Hit[] = [];
    const exclusionHits: Hit[] = [];
    const partHits: Hit[] = [];
    // A part of a `together` term only matters when all the term's parts are here.
    const partsFound = new Map<number, Set<number>>();
    for (const { owner } of this.accepted) {
      const part = parts[owner - termCount - exclusions.length];
      if (!part) continue;
      const found = partsFound.get(part.term) ?? new Set<number>();
      found.add(part.part);
      partsFound.set(part.term, found);
    }
    for (const { owner, end } of this.accepted) {
      const part = parts[owner - termCount - exclusions.length];
      if (part && (partsFound.get(part.term)?.size ?? 0) < part.of) continue;
      const startPos = nfa.startOf(owner, this.words, end);
      if (owner < termCount) termHits.push({ owner, startPos, endPos: end });
      else if (owner < termCount + exclusions.length) {
        exclusionHits.push({ owner: owner - termCount, startPos, endPos: end });
      } else partHits.push({ owner: owner - termCount - exclusions.length, startPos, endPos: end });
    }
    return { termHits, exclusionHits, partHits };
  }

  /** A `together` term matches when every one of its parts matched in the sentence: its span covers them all. */
  private joinParts(termHits: Hit[], partHits: readonly Hit[]): void {
    const { parts } = this.matcher.internals;
    const byTerm = new Map<number, { found: Map<number, Hit>; of: number }>();
    for (const hit of partHits) {
      const part = parts[hit.owner];
      if (!part) continue;
      const entry = byTerm.get(part.term) ?? { found: new Map<number, Hit>(), of: part.of };
      if (!entry.found.has(part.part)) entry.found.set(part.part, hit);
      byTerm.set(part.term, entry);
    }
    for (const [term, { found, of }] of byTerm) {
      if (found.size < of) continue;
      const hits = [...found.values()];
      termHits.push({
        owner: term,
        startPos: Math.min(...hits.map((hit) => hit.startPos)),
        endPos: Math.max(...hits.map((hit) => hit.endPos)),
      });
    }
  }

  /** Apply exclusions, the age band and scoring to the sentence's hits. */
  private settle(termHits: readonly Hit[], exclusionHits: readonly Hit[]): LexiconMatch[] {
    const { terms, exclusions } = this.matcher.internals;
    const context = sentenceContext(this.tokens.map((token) => token.key));
    const seen = new Set<string>();
    const matches: LexiconMatch[] = [];
    for (const hit of termHits) {
      const term = terms[hit.owner];
      if (!term || !term.ageBands.includes(this.options.ageBand)) continue;
      const key = `${hit.owner}:${hit.startPos}:${hit.endPos}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const scored = scoreMatch(
        term.severity,
        term.category,
        context,
        this.options.source,
        this.options.ageBand,
      );
      const excluded = exclusionHits.some((exclusionHit) => {
        const exclusion = exclusions[exclusionHit.owner];
        if (!exclusion || scored.severity > exclusion.maxSeverity) return false;
        if (exclusion.categories && !exclusion.categories.includes(term.category)) return false;
        if (exclusion.scope === 'sentence') return true;
        return exclusionHit.startPos <= hit.endPos && hit.startPos <= exclusionHit.endPos;
      });
      if (excluded) continue;
      const first = this.tokens[hit.startPos];
      const last = this.tokens[hit.endPos];
      if (!first || !last) continue;
      matches.push({
        termId: term.id,
        category: term.category,
        severity: scored.severity,
        termSeverity: term.severity,
        reasons: scored.reasons,
        start: first.start,
        end: last.end,
        stage: 'lexicon',
        language: term.language,
        lexiconVersion: this.matcher.version,
      });
    }
    // A match inside a longer one that is at least as serious adds nothing but noise
    // ("kill" inside "kill myself"): keep the one that explains more.
    if (this.options.keepContained) return matches;
    return matches.filter(
      (match) =>
        !matches.some(
          (other) =>
            other !== match &&
            other.severity >= match.severity &&
            other.start <= match.start &&
            match.end <= other.end &&
            other.end - other.start > match.end - match.start,
        ),
    );
  }
}

/** A sentence of typed text that completed, with its settled matches (offsets into `text`). */
export interface StreamReport {
  readonly text: string;
  readonly matches: readonly LexiconMatch[];
}

/** The longest sentence a stream keeps; a longer one is settled and a new one begun. */
export const STREAM_MAX_SENTENCE_CHARS = 2_000;

/**
 * Incremental matching for one text field or window, fed a key at a time. Nothing typed is
 * kept beyond the current sentence, and a sentence is reported only if it matched. A
 * sentence completes at a full stop, "!", "?", a new line, or `flush()` (Enter, Tab, a
 * click or a focus change); matches are reported then, settled against the whole sentence.
 */
export class MatchStream {
  private readonly matcher: Matcher;
  private readonly options: ScanOptions;
  private buffer = '';
  private bufferStart = 0;
  private written = 0;
  private scanner!: Scanner;
  private tokeniser!: Tokeniser;
  private settled: LexiconMatch[] = [];
  private reports: StreamReport[] = [];
  private sentenceEnded = false;

  constructor(matcher: Matcher, options: ScanOptions) {
    this.matcher = matcher;
    this.options = options;
    this.reset();
  }

  private reset(): void {
    this.settled = [];
    this.scanner = new Scanner(this.matcher, this.options, (found) => this.settled.push(...found));
    this.tokeniser = new Tokeniser({
      token: (token) => this.scanner.token(token),
      sentenceEnd: () => {
        this.scanner.sentenceEnd();
        this.sentenceEnded = true;
      },
    });
    this.bufferStart = 0;
    this.written = 0;
  }

  /** Type text (usually one character). Returns the sentences it completed that matched. */
  write(text: string): StreamReport[] {
    for (let index = 0; index < text.length;) {
      const codePoint = text.codePointAt(index) ?? 0;
      const char = String.fromCodePoint(codePoint);
      index += char.length;
      this.buffer += char;
      this.tokeniser.write(char);
      this.written += char.length;
      if (this.sentenceEnded) this.completeSentence(this.buffer.length);
      else if (this.buffer.length >= STREAM_MAX_SENTENCE_CHARS) this.flushInto();
    }
    return this.takeReports();
  }

  /** Delete the last character typed (Backspace). Nothing is reported. */
  backspace(count = 1): void {
    if (this.buffer.length === 0) return;
    const chars = [...this.buffer];
    chars.splice(Math.max(0, chars.length - count));
    const kept = chars.join('');
    // Re-read the sentence without the deleted characters: the sentence is short, and
    // deleting is rarer than typing, so this costs less than keeping undo state per key.
    this.buffer = '';
    this.reset();
    this.write(kept);
  }

  /** A boundary: Enter, Tab, a click or a focus change completes the sentence. */
  flush(): StreamReport[] {
    this.flushInto();
    return this.takeReports();
  }

  /** The sentence typed so far (what a capture's context is cut from). */
  get pendingText(): string {
    return this.buffer;
  }

  private flushInto(): void {
    this.tokeniser.end();
    this.completeSentence(this.buffer.length);
  }

  private completeSentence(length: number): void {
    this.sentenceEnded = false;
    // The character that showed the sentence ended (the space after a full stop) is not part of it.
    const text = this.buffer.slice(0, length).trimEnd();
    if (this.settled.length > 0) {
      this.reports.push({
        text,
        matches: this.settled.map((match) => ({
          ...match,
          start: match.start - this.bufferStart,
          end: match.end - this.bufferStart,
        })),
      });
    }
    this.settled = [];
    this.buffer = this.buffer.slice(length);
    this.bufferStart = this.written;
  }

  private takeReports(): StreamReport[] {
    const reports = this.reports;
    this.reports = [];
    return reports;
  }
}
