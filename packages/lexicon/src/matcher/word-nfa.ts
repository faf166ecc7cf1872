/**
 * One word automaton for the whole lexicon, built from the patterns' trees without
 * expanding them: a position (Glushkov) automaton over words. Every word of every pattern
 * is a position; a position lists the positions that may follow it; a text is read one
 * word at a time, carrying the set of live positions, each with the word where its match
 * began. Building costs the patterns' size (not the product of their alternatives).
 *
 * Reading is a lazily built DFA over sets of positions (as RE2 does): the first time a set
 * meets a word, the next set is worked out and cached, so a warm automaton reads a word
 * with one map lookup however many patterns share it ("i" begins hundreds). Where a match
 * began is worked out only when one is found, by re-reading that one pattern.
 *
 * Why not Aho–Corasick over expanded phrases: the shipped lexicon's alternatives expand
 * to over 400,000 phrases (4 s and hundreds of MB to build); this builds in milliseconds.
 */
import type { PatternNode } from '../pattern/pattern.ts';

/** A position matching any word (from a gap `~N`). */
const ANY = -1;

interface Fragment {
  readonly nullable: boolean;
  readonly first: readonly number[];
  readonly last: readonly number[];
}

export class WordNfa {
  /** Per position: its word id, or ANY. */
  private readonly word: number[] = [];
  private readonly follow: number[][] = [];
  /** Per position: the owners whose pattern can end there. */
  private readonly accepts: (number[] | undefined)[] = [];
  /** Word id → positions where a pattern can begin with that word. */
  private readonly starts = new Map<number, number[]>();
  /** The owner of each position's pattern. */
  private readonly ownerOf: number[] = [];
  /** Per owner: the most words any of its patterns can span. */
  private readonly ownerMaxWords = new Map<number, number>();
  /** Per owner: word id → its start positions (for finding where a match began). */
  private readonly ownerStarts = new Map<number, Map<number, number[]>>();
  // The lazy DFA: sets of positions, interned by their sorted members.
  private dfaStates = new Map<string, DfaState>();
  private initial: DfaState | undefined;
  // Built by `build()`: per position, the positions that follow by word, and those that follow on any word.
  private followByWord: (Map<number, number[]> | undefined)[] = [];
  private followAny: (number[] | undefined)[] = [];

  /** Add one pattern for `owner`; `wordId` gives (or makes) a word's id. */
  add(tree: PatternNode, owner: number, wordId: (key: string) => number): void {
    const firstNew = this.word.length;
    const fragment = this.fragment(tree, wordId);
    for (let position = firstNew; position < this.word.length; position += 1)
      this.ownerOf[position] = owner;
    this.ownerMaxWords.set(owner, Math.max(this.ownerMaxWords.get(owner) ?? 1, maxWords(tree)));
    const mine = this.ownerStarts.get(owner) ?? new Map<number, number[]>();
    this.ownerStarts.set(owner, mine);
    for (const position of fragment.first) {
      const id = this.word[position] ?? ANY;
      const list = this.starts.get(id) ?? [];
      list.push(position);
      this.starts.set(id, list);
      const own = mine.get(id) ?? [];
      own.push(position);
      mine.set(id, own);
    }
    for (const position of fragment.last) {
      const owners = this.accepts[position] ?? [];
      if (!owners.includes(owner)) owners.push(owner);
      this.accepts[position] = owners;
    }
  }

  private position(word: number): number {
    this.word.push(word);
    this.follow.push([]);
    this.accepts.push(undefined);
    return this.word.length - 1;
  }

  private fragment(node: PatternNode, wordId: (key: string) => number): Fragment {
    switch (node.kind) {
      case 'word': {
        const position = this.position(wordId(node.key));
        return { nullable: false, first: [position], last: [position] };
      }
      case 'any': {
        const position = this.position(ANY);
        return { nullable: false, first: [position], last: [position] };
      }
      case 'alt': {
        const parts = node.options.map((option) => this.fragment(option, wordId));
        return {
          nullable: parts.some((part) => part.nullable),
          first: parts.flatMap((part) => part.first),
          last: parts.flatMap((part) => part.last),
        };
      }
      case 'seq': {
        let result: Fragment = { nullable: true, first: [], last: [] };
        for (const item of node.items) {
          const part = this.fragment(item, wordId);
          for (const from of result.last) this.follow[from]?.push(...part.first);
          result = {
            nullable: result.nullable && part.nullable,
            first: result.nullable ? [...result.first, ...part.first] : result.first,
            last: part.nullable ? [...result.last, ...part.last] : part.last,
          };
        }
        return result;
      }
    }
  }

  /** Index the follow lists by word, once every pattern is added. */
  build(): void {
    this.followByWord = this.follow.map((targets) => {
      let byWord: Map<number, number[]> | undefined;
      for (const target of new Set(targets)) {
        const id = this.word[target] ?? ANY;
        if (id === ANY) continue;
        byWord ??= new Map();
        const list = byWord.get(id) ?? [];
        list.push(target);
        byWord.set(id, list);
      }
      return byWord;
    });
    this.followAny = this.follow.map((targets) => {
      const any = [...new Set(targets)].filter((target) => this.word[target] === ANY);
      return any.length > 0 ? any : undefined;
    });
  }

  get positionCount(): number {
    return this.word.length;
  }

  /** States of the lazy DFA built so far (for the benchmark and tests). */
  get dfaStateCount(): number {
    return this.dfaStates.size;
  }

  /** The state before any word of a sentence. */
  start(): DfaState {
    this.initial ??= this.intern([]);
    return this.initial;
  }

  /** The state after reading `wordId` (undefined: a word no pattern uses) in `state`. */
  step(state: DfaState, wordId: number | undefined): DfaState {
    const key = wordId ?? OTHER_WORD;
    const cached = state.next.get(key);
    if (cached) return cached;
    const positions = new Set<number>();
    for (const from of state.positions) {
      if (wordId !== undefined) {
        const targets = this.followByWord[from]?.get(wordId);
        if (targets) for (const target of targets) positions.add(target);
      }
      const anyTargets = this.followAny[from];
      if (anyTargets) for (const target of anyTargets) positions.add(target);
    }
    if (wordId !== undefined) {
      const begun = this.starts.get(wordId);
      if (begun) for (const position of begun) positions.add(position);
    }
    if (this.dfaStates.size > MAX_DFA_STATES) {
      // Bounded memory: forget the cache (states in use stay valid; the cache fills again).
      this.dfaStates = new Map();
      this.initial = undefined;
    }
    const next = this.intern([...positions].sort((a, b) => a - b));
    state.next.set(key, next);
    return next;
  }

  private intern(sorted: number[]): DfaState {
    const signature = sorted.join(',');
    let state = this.dfaStates.get(signature);
    if (!state) {
      const owners = new Set<number>();
      for (const position of sorted)
        for (const owner of this.accepts[position] ?? []) owners.add(owner);
      state = { positions: Int32Array.from(sorted), accepts: [...owners], next: new Map() };
      this.dfaStates.set(signature, state);
    }
    return state;
  }

  /**
   * Where the match of `owner` that ends at word `end` began: the earliest start (the
   * longest match) within the last MAX_MATCH_WORDS words. Run only for matches.
   */
  startOf(owner: number, words: readonly (number | undefined)[], end: number): number {
    const starts = this.ownerStarts.get(owner);
    if (!starts) return end;
    const longest = Math.min(MAX_MATCH_WORDS, this.ownerMaxWords.get(owner) ?? MAX_MATCH_WORDS);
    for (let start = Math.max(0, end - longest + 1); start <= end; start += 1) {
      const word = words[start];
      let live = word === undefined ? [] : (starts.get(word) ?? []);
      for (let index = start + 1; index <= end && live.length > 0; index += 1) {
        const next = new Set<number>();
        const id = words[index];
        for (const from of live) {
          if (id !== undefined)
            for (const target of this.followByWord[from]?.get(id) ?? []) next.add(target);
          for (const target of this.followAny[from] ?? []) next.add(target);
        }
        live = [...next];
      }
      if (live.some((position) => this.accepts[position]?.includes(owner))) return start;
    }
    return end;
  }
}

/** The most words a pattern can span. */
function maxWords(node: PatternNode): number {
  switch (node.kind) {
    case 'word':
    case 'any':
      return 1;
    case 'alt':
      return Math.max(0, ...node.options.map(maxWords));
    case 'seq':
      return node.items.reduce((sum, item) => sum + maxWords(item), 0);
  }
}

/** A state of the lazy DFA: the live positions, who accepts here, and the cached next states. */
export interface DfaState {
  readonly positions: Int32Array;
  readonly accepts: readonly number[];
  readonly next: Map<number, DfaState>;
}

/** The key for "a word no pattern uses" in a state's cache. */
const OTHER_WORD = -2;
/** The lazy DFA forgets its cache past this many states. */
const MAX_DFA_STATES = 200_000;
/** The longest match, in words, whose start is searched for. */
const MAX_MATCH_WORDS = 64;
