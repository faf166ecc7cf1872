import { describe, expect, it } from 'vitest';

import { compilePattern, MAX_EXPANSIONS, PatternError } from './pattern.ts';

const words = (pattern: string) =>
  compilePattern(pattern).map((sequence) =>
    sequence.segments.map((segment) => segment.join(' ')).join(` ~ `),
  );

describe('compilePattern', () => {
  it('expands alternatives and optionals, normalising words like text', () => {
    expect(words("{i|i'm} [really] want")).toEqual([
      'i want',
      'i realy want',
      'im want',
      'im realy want',
    ]);
  });

  it('nests alternatives inside alternatives', () => {
    expect(words('{i {want|need} to|im going to} die')).toEqual([
      'i want to die',
      'i ned to die',
      'im going to die',
    ]);
  });

  it('skips punctuation standing alone, as the tokeniser does in text', () => {
    expect(words('romeo & juliet')).toEqual(['romeo juliet']);
  });

  it('splits at gaps and keeps their width', () => {
    expect(compilePattern('want to ~2 die')).toEqual([
      { segments: [['want', 'to'], ['die']], gaps: [2] },
    ]);
  });

  it('drops a gap that an empty optional leaves at either end of a run', () => {
    expect(compilePattern('a ~1 [b] ~1 c')).toEqual([
      { segments: [['a'], ['c']], gaps: [2] },
      { segments: [['a'], ['b'], ['c']], gaps: [1, 1] },
    ]);
  });

  it('names the column of a mistake', () => {
    expect(() => compilePattern('{kill|hurt myself')).toThrow(
      new PatternError('"{" is never closed by "}" at column 1', 1),
    );
    expect(() => compilePattern('want ~9 die')).toThrow(/a gap is written ~1 to ~3 at column 6/);
    expect(() => compilePattern('~1 die')).toThrow(/may not begin with a gap/);
    expect(() => compilePattern('die ~1')).toThrow(/may not end with a gap/);
    expect(() => compilePattern('a | b')).toThrow(/unexpected "\|" at column 3/);
    expect(() => compilePattern('---')).toThrow(/the pattern matches nothing/);
  });

  it('refuses a pattern too broad to compile', () => {
    const alternatives = `{${Array.from({ length: 20 }, (_, index) => `w${index}`).join('|')}}`;
    expect(() => compilePattern(`${alternatives} ${alternatives} ${alternatives}`)).toThrow(
      new RegExp(`more than ${MAX_EXPANSIONS} word sequences`),
    );
  });
});
