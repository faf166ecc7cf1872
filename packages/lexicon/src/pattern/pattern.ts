/**
 * The pattern language of the lexicon (see FORMAT.md): words in a row, `{a|b c}`
 * alternatives, `[a|b]` optionals, `~N` gaps of up to N other words. A pattern parses to a
 * tree; the matcher compiles every tree of the lexicon into one word automaton without
 * expanding the alternatives (so a broad pattern costs its size, not the product of its
 * choices). Words are normalised exactly as text is, so `i'm` in a pattern is `im`.
 */
import { tokenise } from '../normalise/tokeniser.ts';

/** The widest gap `~N` allows. */
export const MAX_GAP = 3;
/** The most words (counting each alternative) one pattern may hold. */
export const MAX_PATTERN_WORDS = 2_000;
/** The most word sequences `expandPattern` lists (for baselines and tests only). */
export const MAX_EXPANSIONS = 100_000;

/** A parsed pattern: words (token keys), any-word slots (from gaps), sequences and choices. */
export type PatternNode =
  | { readonly kind: 'word'; readonly key: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'seq'; readonly items: readonly PatternNode[] }
  | { readonly kind: 'alt'; readonly options: readonly PatternNode[] };

/** A pattern that cannot be compiled; `column` is 1-based within the pattern. */
export class PatternError extends Error {
  readonly column: number;

  constructor(message: string, column: number) {
    super(message);
    this.name = 'PatternError';
    this.column = column;
  }
}

const EMPTY: PatternNode = { kind: 'seq', items: [] };

/** Patterns repeat their words a great deal ("i", "my", "mum"): normalise each once. */
const wordKeys = new Map<string, readonly string[]>();
function keysOf(text: string): readonly string[] {
  let keys = wordKeys.get(text);
  if (!keys) {
    keys = tokenise(text).tokens.map((token) => token.key);
    if (wordKeys.size > 200_000) wordKeys.clear();
    wordKeys.set(text, keys);
  }
  return keys;
}

class Parser {
  private position = 0;
  private words = 0;
  private readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  parse(): PatternNode {
    const tree = this.sequence(new Set());
    if (this.position < this.source.length) {
      throw this.error(`unexpected "${this.source[this.position]}"`);
    }
    return tree;
  }

  private error(message: string, at = this.position): PatternError {
    return new PatternError(`${message} at column ${at + 1}`, at + 1);
  }

  /** Items until one of `stops` (or the end). */
  private sequence(stops: ReadonlySet<string>): PatternNode {
    const items: PatternNode[] = [];
    for (;;) {
      this.skipSpaces();
      const char = this.source[this.position];
      if (char === undefined || stops.has(char)) return { kind: 'seq', items };
      items.push(...this.item());
    }
  }

  private item(): PatternNode[] {
    const at = this.position;
    const char = this.source[at];
    if (char === '{' || char === '[') {
      this.position += 1;
      const close = char === '{' ? '}' : ']';
      const options = this.alternatives(close);
      if (this.source[this.position] !== close) {
        throw this.error(`"${char}" is never closed by "${close}"`, at);
      }
      this.position += 1;
      return [{ kind: 'alt', options: char === '[' ? [...options, EMPTY] : options }];
    }
    if (char === '}' || char === ']' || char === '|') throw this.error(`unexpected "${char}"`);
    if (char === '~') {
      const match = /^~([0-9]+)/.exec(this.source.slice(at));
      const size = Number(match?.[1]);
      if (!match || size < 1 || size > MAX_GAP)
        throw this.error(`a gap is written ~1 to ~${MAX_GAP}`);
      this.position += match[0].length;
      // Up to N other words: N optional any-word slots.
      return Array.from(
        { length: size },
        () => ({ kind: 'alt', options: [{ kind: 'any' }, EMPTY] }) as const,
      );
    }
    return this.word();
  }

  private alternatives(close: string): PatternNode[] {
    const all: PatternNode[] = [];
    for (;;) {
      all.push(this.sequence(new Set(['|', close])));
      if (this.source[this.position] !== '|') return all;
      this.position += 1;
    }
  }

  private word(): PatternNode[] {
    const start = this.position;
    while (
      this.position < this.source.length &&
      !/[\s{}[\]|~]/.test(this.source[this.position] ?? ' ')
    ) {
      this.position += 1;
    }
    // Punctuation on its own ("romeo & juliet", "-") separates words in text too: it
    // matches nothing and is skipped, as the tokeniser skips it.
    const keys = keysOf(this.source.slice(start, this.position));
    this.words += keys.length;
    if (this.words > MAX_PATTERN_WORDS) {
      throw this.error(
        `holds more than ${MAX_PATTERN_WORDS} words: split it into narrower patterns`,
        start,
      );
    }
    return keys.map((key) => ({ kind: 'word', key }));
  }

  private skipSpaces(): void {
    while (/\s/.test(this.source[this.position] ?? '')) this.position += 1;
  }
}

/** First and last words of a tree, and whether it can match nothing at all. */
function edges(node: PatternNode): { nullable: boolean; firstAny: boolean; lastAny: boolean } {
  switch (node.kind) {
    case 'word':
      return { nullable: false, firstAny: false, lastAny: false };
    case 'any':
      return { nullable: false, firstAny: true, lastAny: true };
    case 'alt': {
      const parts = node.options.map(edges);
      return {
        nullable: parts.some((part) => part.nullable),
        firstAny: parts.some((part) => part.firstAny),
        lastAny: parts.some((part) => part.lastAny),
      };
    }
    case 'seq': {
      let nullable = true;
      let firstAny = false;
      let lastAny = false;
      for (const part of node.items.map(edges)) {
        if (nullable && part.firstAny) firstAny = true;
        lastAny = part.lastAny || (part.nullable && lastAny);
        nullable = nullable && part.nullable;
      }
      return { nullable, firstAny, lastAny };
    }
  }
}

/**
 * Parse and check a pattern.
 * @throws PatternError naming the column and what to fix.
 */
export function parsePattern(source: string): PatternNode {
  const tree = new Parser(source).parse();
  const shape = edges(tree);
  if (shape.nullable)
    throw new PatternError(
      'the pattern can match nothing at all: give it a word that is not optional',
      1,
    );
  if (shape.firstAny) throw new PatternError('a pattern may not begin with a gap', 1);
  if (shape.lastAny) throw new PatternError('a pattern may not end with a gap', source.length);
  return tree;
}

/** A pattern as the word sequences it stands for; `null` is one word of a gap. */
export type Expansion = readonly (string | null)[];

/**
 * Every word sequence a pattern matches (gaps as `null` slots), for baselines that need
 * plain phrases (the benchmark's obscenity comparison) and for tests. The matcher itself
 * never expands patterns.
 * @throws PatternError when there are more than MAX_EXPANSIONS.
 */
export function expandPattern(source: string): Expansion[] {
  const expand = (node: PatternNode): Expansion[] => {
    switch (node.kind) {
      case 'word':
        return [[node.key]];
      case 'any':
        return [[null]];
      case 'alt':
        return node.options.flatMap(expand);
      case 'seq': {
        let product: Expansion[] = [[]];
        for (const item of node.items) {
          const choices = expand(item);
          product = product.flatMap((prefix) => choices.map((choice) => [...prefix, ...choice]));
          if (product.length > MAX_EXPANSIONS) {
            throw new PatternError(`expands to more than ${MAX_EXPANSIONS} word sequences`, 1);
          }
        }
        return product;
      }
    }
  };
  const seen = new Set<string>();
  return expand(parsePattern(source)).filter((sequence) => {
    const signature = JSON.stringify(sequence);
    if (seen.has(signature)) return false;
    seen.add(signature);
    return true;
  });
}
