/**
 * One word automaton for the whole lexicon, built from the patterns' trees without
 * expanding them: a position (Glushkov) automaton over words. Every word of every pattern
 * is a position; a position lists the positions that may follow it; a text is read one
 * word at a time, carrying the set of live positions. Building costs the patterns' size
 * (not the product of their alternatives).
 *
 * Reading is a lazily built DFA over sets of positions (as RE2 does): the first time a set
 * meets a word, the next set is worked out and cached, so a warm automaton reads a word
 * with one map lookup however many patterns share it ("i" begins hundreds). Where a match
 * began is worked out only when one is found, by re-reading that one pattern.
 *
 * Storage is flat typed arrays (compressed sparse rows: per position, a slice of edges),
 * not an object per position: the shipped lexicon has ~80,000 positions and ~230,000
 * edges, and a Map per position cost 50 MB and most of the build time in garbage
 * collection.
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
  // While patterns are added: plain arrays that grow.
  /** Per position: its word id, or ANY. */
  private words: number[] = [];
  /** Per position: the owner of its pattern. */
  private owners: number[] = [];
  /** Follow edges as pairs: edgeFrom[i] → edgeTo[i]. */
  private edgeFrom: number[] = [];
  private edgeTo: number[] = [];
  /** Accepting positions as pairs: acceptAt[i] accepts for acceptOwner[i]. */
  private acceptAt: number[] = [];
  private acceptOwner: number[] = [];
  /** Word id → positions where a pattern can begin with that word. */
  private readonly starts = new Map<number, number[]>();
  /** Per owner: the most words any of its patterns can span. */
  private readonly ownerMaxWords: number[] = [];

  // Built by `build()`.
  private wordOf = new Int32Array(0);
  private ownerOf = new Int32Array(0);
  /** Edges of position p: edgeTarget/edgeWord[edgeStart[p] … edgeStart[p + 1]). */
  private edgeStart = new Int32Array(0);
  private edgeTarget = new Int32Array(0);
  private edgeWord = new Int32Array(0);
  /** Owners accepting at position p: acceptList[acceptStart[p] … acceptStart[p + 1]). */
  private acceptStart = new Int32Array(0);
  private acceptList = new Int32Array(0);
  private built = false;

  // The lazy DFA: sets of positions, interned by their sorted members.
  private dfaStates = new Map<string, DfaState>();
  private initial: DfaState | undefined;

  /** Add one pattern for `owner`; `wordId` gives (or makes) a word's id. */
  add(tree: PatternNode, owner: number, wordId: (key: string) => number): void {
    if (this.built) throw new Error('WordNfa: add() after build()');
    const fragment = this.fragment(tree, owner, wordId);
    this.ownerMaxWords[owner] = Math.max(this.ownerMaxWords[owner] ?? 1, maxWords(tree));
    for (const position of fragment.first) {
      const id = this.words[position] ?? ANY;
      const list = this.starts.get(id);
      if (list) list.push(position);
      else this.starts.set(id, [position]);
    }
    for (const position of fragment.last) {
      this.acceptAt.push(position);
      this.acceptOwner.push(owner);
    }
  }

  private position(word: number, owner: number): number {
    this.words.push(word);
    this.owners.push(owner);
    return this.words.length - 1;
  }

  private fragment(node: PatternNode, owner: number, wordId: (key: string) => number): Fragment {
    switch (node.kind) {
      case 'word': {
        const position = this.position(wordId(node.key), owner);
        return { nullable: false, first: [position], last: [position] };
      }
      case 'any': {
        const position = this.position(ANY, owner);
        return { nullable: false, first: [position], last: [position] };
      }
      case 'alt': {
        if (node.options.length === 1 && node.options[0])
          return this.fragment(node.options[0], owner, wordId);
        let nullable = false;
        const first: number[] = [];
        const last: number[] = [];
        for (const option of node.options) {
          const part = this.fragment(option, owner, wordId);
          nullable ||= part.nullable;
          for (const position of part.first) first.push(position);
          for (const position of part.last) last.push(position);
        }
        return { nullable, first, last };
      }
      case 'seq': {
        let nullable = true;
        let first: number[] = [];
        let last: readonly number[] = [];
        for (const item of node.items) {
          const part = this.fragment(item, owner, wordId);
          for (const from of last)
            for (const to of part.first) {
              this.edgeFrom.push(from);
              this.edgeTo.push(to);
            }
          if (nullable) first = first.length === 0 ? [...part.first] : [...first, ...part.first];
          last = part.nullable ? [...last, ...part.last] : part.last;
          nullable &&= part.nullable;
        }
        return { nullable, first, last };
      }
    }
  }

  /** Pack the automaton into flat arrays, once every pattern is added. */
  build(): void {
    const count = this.words.length;
    this.wordOf = Int32Array.from(this.words);
    this.ownerOf = Int32Array.from(this.owners);
    // Edges grouped by their source (a counting sort), deduplicated, sorted by target.
    const edgeStart = new Int32Array(count + 1);
    for (const from of this.edgeFrom) edgeStart[from + 1] = (edgeStart[from + 1] ?? 0) + 1;
    for (let position = 0; position < count; position += 1)
      edgeStart[position + 1] = (edgeStart[position + 1] ?? 0) + (edgeStart[position] ?? 0);
    const fill = edgeStart.slice(0, count);
    const targets = new Int32Array(this.edgeTo.length);
    this.edgeFrom.forEach((from, index) => {
      targets[fill[from] ?? 0] = this.edgeTo[index] ?? 0;
      fill[from] = (fill[from] ?? 0) + 1;
    });
    // Compact in place: sort each slice and drop repeats.
    let written = 0;
    const compactStart = new Int32Array(count + 1);
    for (let position = 0; position < count; position += 1) {
      compactStart[position] = written;
      const slice = targets.subarray(edgeStart[position], edgeStart[position + 1]).sort();
      let previous = -1;
      for (const target of slice) {
        if (target === previous) continue;
        targets[written] = target;
        written += 1;
        previous = target;
      }
    }
    compactStart[count] = written;
    this.edgeStart = compactStart;
    this.edgeTarget = targets.slice(0, written);
    this.edgeWord = this.edgeTarget.map((target) => this.wordOf[target] ?? ANY);
    // Accepting owners, grouped by position the same way.
    const acceptStart = new Int32Array(count + 1);
    for (const at of this.acceptAt) acceptStart[at + 1] = (acceptStart[at + 1] ?? 0) + 1;
    for (let position = 0; position < count; position += 1)
      acceptStart[position + 1] = (acceptStart[position + 1] ?? 0) + (acceptStart[position] ?? 0);
    const acceptFill = acceptStart.slice(0, count);
    const acceptList = new Int32Array(this.acceptAt.length);
    this.acceptAt.forEach((at, index) => {
      acceptList[acceptFill[at] ?? 0] = this.acceptOwner[index] ?? 0;
      acceptFill[at] = (acceptFill[at] ?? 0) + 1;
    });
    this.acceptStart = acceptStart;
    this.acceptList = acceptList;
    // Free the growing arrays.
    this.words = [];
    this.owners = [];
    this.edgeFrom = [];
    this.edgeTo = [];
    this.acceptAt = [];
    this.acceptOwner = [];
    this.built = true;
  }

  get positionCount(): number {
    return this.wordOf.length;
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

  /** Positions that follow `from` on `wordId` (undefined: a word no pattern uses), into `into`. */
  private follow(from: number, wordId: number | undefined, into: Set<number>): void {
    const end = this.edgeStart[from + 1] ?? 0;
    for (let edge = this.edgeStart[from] ?? 0; edge < end; edge += 1) {
      const word = this.edgeWord[edge];
      if (word === ANY || (wordId !== undefined && word === wordId))
        into.add(this.edgeTarget[edge] ?? 0);
    }
  }

  /** The state after reading `wordId` (undefined: a word no pattern uses) in `state`. */
  step(state: DfaState, wordId: number | undefined): DfaState {
    const key = wordId ?? OTHER_WORD;
    const cached = state.next.get(key);
    if (cached) return cached;
    const positions = new Set<number>();
    for (const from of state.positions) this.follow(from, wordId, positions);
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

  private accepting(position: number): Int32Array {
    return this.acceptList.subarray(this.acceptStart[position], this.acceptStart[position + 1]);
  }

  private intern(sorted: number[]): DfaState {
    const signature = sorted.join(',');
    let state = this.dfaStates.get(signature);
    if (!state) {
      const owners = new Set<number>();
      for (const position of sorted)
        for (const owner of this.accepting(position)) owners.add(owner);
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
    const longest = Math.min(MAX_MATCH_WORDS, this.ownerMaxWords[owner] ?? MAX_MATCH_WORDS);
    for (let start = Math.max(0, end - longest + 1); start <= end; start += 1) {
      const word = words[start];
      // Edges never leave a pattern, so the owner's start positions reach only its own.
      let live = new Set(
        word === undefined
          ? []
          : (this.starts.get(word) ?? []).filter((position) => this.ownerOf[position] === owner),
      );
      for (let index = start + 1; index <= end && live.size > 0; index += 1) {
        const next = new Set<number>();
        for (const from of live) this.follow(from, words[index], next);
        live = next;
      }
      for (const position of live) if (this.accepting(position).includes(owner)) return start;
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
