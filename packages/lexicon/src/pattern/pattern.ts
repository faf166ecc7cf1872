/**
 * The pattern language of the lexicon (see FORMAT.md): words in a row, `{a|b c}`
 * alternatives, `[a|b]` optionals, `~N` gaps of up to N other words. A pattern compiles to
 * the word sequences it stands for, each split at its gaps into segments the automaton
 * matches; words are normalised exactly as text is, so `i'm` in a pattern is `im`.
 */
import { tokenise } from '../normalise/tokeniser.ts';

/** The most word sequences one lexicon entry may expand to. */
export const MAX_EXPANSIONS = 5_000;
/** The widest gap `~N` allows. */
export const MAX_GAP = 3;

/** A pattern cut at its gaps: `segments[i]`, then up to `gaps[i]` other words, then `segments[i + 1]`. */
export interface CompiledSequence {
  readonly segments: readonly (readonly string[])[];
  readonly gaps: readonly number[];
}

/** A pattern that cannot be compiled; `column` is 1-based within the pattern. */
export class PatternError extends Error {
  readonly column: number;

  constructor(message: string, column: number) {
    super(message);
    this.name = 'PatternError';
    this.column = column;
  }
}

/** A word (normalised token key) or a gap of up to N words. */
type Element = string | { readonly gap: number };
type Expansion = readonly Element[];

class Parser {
  private position = 0;
  private readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  parse(): Expansion[] {
    const result = this.sequence(new Set());
    if (this.position < this.source.length) {
      throw this.error(`unexpected "${this.source[this.position]}"`);
    }
    return result;
  }

  private error(message: string, at = this.position): PatternError {
    return new PatternError(`${message} at column ${at + 1}`, at + 1);
  }

  /** Items until one of `stops` (or the end): the cartesian product of the items' choices. */
  private sequence(stops: ReadonlySet<string>): Expansion[] {
    let expansions: Expansion[] = [[]];
    for (;;) {
      this.skipSpaces();
      const char = this.source[this.position];
      if (char === undefined || stops.has(char)) return expansions;
      const choices = this.item();
      const product: Expansion[] = [];
      for (const prefix of expansions) {
        for (const choice of choices) {
          product.push([...prefix, ...choice]);
          if (product.length > MAX_EXPANSIONS) {
            throw this.error(
              `expands to more than ${MAX_EXPANSIONS} word sequences: split it into narrower patterns`,
            );
          }
        }
      }
      expansions = product;
    }
  }

  private item(): Expansion[] {
    const at = this.position;
    const char = this.source[at];
    if (char === '{' || char === '[') {
      this.position += 1;
      const close = char === '{' ? '}' : ']';
      const alternatives = this.alternatives(close);
      if (this.source[this.position] !== close)
        throw this.error(`"${char}" is never closed by "${close}"`, at);
      this.position += 1;
      return char === '[' ? [[], ...alternatives] : alternatives;
    }
    if (char === '}' || char === ']' || char === '|') throw this.error(`unexpected "${char}"`);
    if (char === '~') {
      const match = /^~([0-9]+)/.exec(this.source.slice(at));
      const size = Number(match?.[1]);
      if (!match || size < 1 || size > MAX_GAP)
        throw this.error(`a gap is written ~1 to ~${MAX_GAP}`);
      this.position += match[0].length;
      return [[{ gap: size }]];
    }
    return [this.word()];
  }

  private alternatives(close: string): Expansion[] {
    const all: Expansion[] = [];
    for (;;) {
      all.push(...this.sequence(new Set(['|', close])));
      if (this.source[this.position] !== '|') return all;
      this.position += 1;
    }
  }

  private word(): Expansion {
    const start = this.position;
    while (
      this.position < this.source.length &&
      !/[\s{}[\]|~]/.test(this.source[this.position] ?? ' ')
    ) {
      this.position += 1;
    }
    // Punctuation on its own ("romeo & juliet", "-") separates words in text too: it
    // matches nothing and is skipped, as the tokeniser skips it.
    return tokenise(this.source.slice(start, this.position)).tokens.map((token) => token.key);
  }

  private skipSpaces(): void {
    while (/\s/.test(this.source[this.position] ?? '')) this.position += 1;
  }
}

/**
 * Compile a pattern to the word sequences it matches.
 * @throws PatternError naming the column and what to fix.
 */
export function compilePattern(source: string): CompiledSequence[] {
  const expansions = new Parser(source).parse();
  const seen = new Set<string>();
  const compiled: CompiledSequence[] = [];
  for (const expansion of expansions) {
    const segments: string[][] = [[]];
    const gaps: number[] = [];
    for (const element of expansion) {
      const current = segments[segments.length - 1] ?? [];
      if (typeof element === 'string') {
        current.push(element);
      } else if (current.length === 0) {
        if (segments.length === 1) throw new PatternError('a pattern may not begin with a gap', 1);
        gaps[gaps.length - 1] = Math.min(MAX_GAP, (gaps[gaps.length - 1] ?? 0) + element.gap);
      } else {
        gaps.push(element.gap);
        segments.push([]);
      }
    }
    if (segments.length > 64) throw new PatternError('a pattern may have at most 63 gaps', 1);
    if (segments[segments.length - 1]?.length === 0) {
      if (segments.length === 1) continue; // an empty alternative on its own, e.g. "[a]" alone
      throw new PatternError('a pattern may not end with a gap', source.length);
    }
    const signature = JSON.stringify([segments, gaps]);
    if (seen.has(signature)) continue;
    seen.add(signature);
    compiled.push({ segments, gaps });
  }
  if (compiled.length === 0) throw new PatternError('the pattern matches nothing', 1);
  return compiled;
}
