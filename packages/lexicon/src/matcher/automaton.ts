/**
 * Aho–Corasick over words: the keywords are sequences of word ids, and one pass over a
 * text's words finds every keyword ending at each word, whatever the size of the
 * lexicon. Words the lexicon never uses get no id and send the automaton back to its root.
 */
export class WordAutomaton {
  /** Children of each state: word id → state. */
  private readonly children: Map<number, number>[] = [new Map<number, number>()];
  private readonly fail: number[] = [0];
  /** Keyword ids ending at each state, including those ending at its suffixes. */
  private outputs: (readonly number[])[] = [];
  private readonly own: number[][] = [[]];
  readonly keywordLengths: number[] = [];

  /** Add a keyword (a sequence of word ids); returns its keyword id. Call before `build()`. */
  add(words: readonly number[]): number {
    let state = 0;
    for (const word of words) {
      const children = this.children[state] ?? new Map<number, number>();
      let next = children.get(word);
      if (next === undefined) {
        next = this.children.length;
        children.set(word, next);
        this.children.push(new Map());
        this.fail.push(0);
        this.own.push([]);
      }
      state = next;
    }
    const id = this.keywordLengths.length;
    this.keywordLengths.push(words.length);
    this.own[state]?.push(id);
    return id;
  }

  /** Compute failure links and merged outputs (breadth first). */
  build(): void {
    const empty: readonly number[] = [];
    this.outputs = this.own.map((ids) => (ids.length === 0 ? empty : ids));
    const queue: number[] = [];
    for (const child of this.children[0]?.values() ?? []) {
      this.fail[child] = 0;
      queue.push(child);
    }
    for (let head = 0; head < queue.length; head += 1) {
      const state = queue[head] ?? 0;
      for (const [word, child] of this.children[state] ?? []) {
        queue.push(child);
        let fallback = this.fail[state] ?? 0;
        while (fallback !== 0 && !this.children[fallback]?.has(word))
          fallback = this.fail[fallback] ?? 0;
        const target = this.children[fallback]?.get(word);
        const failTo = target !== undefined && target !== child ? target : 0;
        this.fail[child] = failTo;
        const inherited = this.outputs[failTo] ?? empty;
        if (inherited.length > 0) {
          const mine = this.outputs[child] ?? empty;
          this.outputs[child] = mine.length === 0 ? inherited : [...mine, ...inherited];
        }
      }
    }
  }

  /** The state after reading `word` (undefined: a word no keyword uses) in `state`. */
  step(state: number, word: number | undefined): number {
    if (word === undefined) return 0;
    let current = state;
    for (;;) {
      const next = this.children[current]?.get(word);
      if (next !== undefined) return next;
      if (current === 0) return 0;
      current = this.fail[current] ?? 0;
    }
  }

  /** Keyword ids that end in `state`. */
  outputsOf(state: number): readonly number[] {
    return this.outputs[state] ?? [];
  }

  get stateCount(): number {
    return this.children.length;
  }
}
