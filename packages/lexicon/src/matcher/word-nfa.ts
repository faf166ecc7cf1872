/**
 * One word automaton for the whole lexicon, built from the patterns' trees without
 * expanding them: a position (Glushkov) automaton over words. Every word of every pattern
 * is a position; a position lists the positions that may follow it; a text is read one
 * word at a time, carrying the set of live positions, each with the word where its match
 * began. Building costs the patterns' size (not the product of their alternatives), and
 * reading a word costs the live positions, which words of the lexicon keep few.
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
  // Built by `build()`: per position, the positions that follow by word, and those that follow on any word.
  private followByWord: (Map<number, number[]> | undefined)[] = [];
  private followAny: (number[] | undefined)[] = [];

  /** Add one pattern for `owner`; `wordId` gives (or makes) a word's id. */
  add(tree: PatternNode, owner: number, wordId: (key: string) => number): void {
    const fragment = this.fragment(tree, wordId);
    for (const position of fragment.first) {
      const id = this.word[position] ?? ANY;
      const list = this.starts.get(id) ?? [];
      list.push(position);
      this.starts.set(id, list);
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

  /** A fresh reading state, for one sentence at a time. */
  createState(): NfaState {
    return new NfaState(this, this.word.length);
  }

  /** @internal for NfaState */
  get tables() {
    return {
      starts: this.starts,
      followByWord: this.followByWord,
      followAny: this.followAny,
      accepts: this.accepts,
    };
  }
}

/** Which positions are live after the words read so far, and where each match began. */
export class NfaState {
  private readonly nfa: WordNfa;
  private live: number[] = [];
  private liveStart: number[] = [];
  private next: number[] = [];
  private nextStart: number[] = [];
  /** Per position: the step it was last added in (so each is added once a step). */
  private readonly stamp: Int32Array;
  private step = 0;

  constructor(nfa: WordNfa, positions: number) {
    this.nfa = nfa;
    this.stamp = new Int32Array(positions);
  }

  /**
   * Read the word at `index` (`wordId` undefined: a word the lexicon never uses). Calls
   * `onAccept(owner, startIndex)` for each pattern that ends here.
   */
  read(
    wordId: number | undefined,
    index: number,
    onAccept: (owner: number, start: number) => void,
  ): void {
    const { starts, followByWord, followAny, accepts } = this.nfa.tables;
    this.step += 1;
    const step = this.step;
    const next = this.next;
    const nextStart = this.nextStart;
    next.length = 0;
    nextStart.length = 0;
    const add = (position: number, start: number) => {
      if (this.stamp[position] === step) return;
      this.stamp[position] = step;
      next.push(position);
      nextStart.push(start);
    };
    for (let i = 0; i < this.live.length; i += 1) {
      const from = this.live[i] ?? 0;
      const start = this.liveStart[i] ?? index;
      if (wordId !== undefined) {
        const targets = followByWord[from]?.get(wordId);
        if (targets) for (const target of targets) add(target, start);
      }
      const anyTargets = followAny[from];
      if (anyTargets) for (const target of anyTargets) add(target, start);
    }
    if (wordId !== undefined) {
      const begun = starts.get(wordId);
      if (begun) for (const position of begun) add(position, index);
    }
    for (let i = 0; i < next.length; i += 1) {
      const owners = accepts[next[i] ?? 0];
      if (owners) for (const owner of owners) onAccept(owner, nextStart[i] ?? index);
    }
    // Swap buffers: what was next is now live.
    this.next = this.live;
    this.nextStart = this.liveStart;
    this.live = next;
    this.liveStart = nextStart;
  }

  /** Forget everything: a new sentence begins. */
  reset(): void {
    this.live.length = 0;
    this.liveStart.length = 0;
  }
}
