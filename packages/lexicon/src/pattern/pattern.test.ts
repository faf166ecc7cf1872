import { describe, expect, it } from 'vitest';

import { expandPattern, MAX_PATTERN_WORDS, parsePattern, PatternError } from './pattern.ts';

const phrases = (pattern: string) =>
  expandPattern(pattern).map((sequence) => sequence.map((word) => word ?? '_').join(' '));

describe('parsePattern and expandPattern', () => {
  it('expand alternatives and optionals, normalising words like text', () => {
    expect(phrases("{i|i'm} [really] want")).toEqual([
      'i realy want',
      'i want',
      'im realy want',
      'im want',
    ]);
  });

  it('nest alternatives inside alternatives', () => {
    expect(phrases('{i {want|need} to|im going to} die')).toEqual([
      'i want to die',
      'i ned to die',
      'im going to die',
    ]);
  });

  it('write a gap as up to N any-word slots', () => {
    expect(phrases('want to ~2 die')).toEqual(['want to _ _ die', 'want to _ die', 'want to die']);
  });

  it('skip punctuation standing alone, as the tokeniser does in text', () => {
    expect(phrases('romeo & juliet')).toEqual(['romeo juliet']);
  });

  it('name the column of a mistake', () => {
    expect(() => parsePattern('{kill|hurt myself')).toThrow(
      new PatternError('"{" is never closed by "}" at column 1', 1),
    );
    expect(() => parsePattern('want ~9 die')).toThrow(/a gap is written ~1 to ~3 at column 6/);
    expect(() => parsePattern('a | b')).toThrow(/unexpected "\|" at column 3/);
  });

  it('refuse patterns that begin or end with a gap, or can match nothing', () => {
    expect(() => parsePattern('~1 die')).toThrow(/may not begin with a gap/);
    expect(() => parsePattern('[x] ~1 die')).toThrow(/may not begin with a gap/);
    expect(() => parsePattern('die ~1')).toThrow(/may not end with a gap/);
    expect(() => parsePattern('[die]')).toThrow(/can match nothing at all/);
    expect(() => parsePattern('---')).toThrow(/can match nothing at all/);
  });

  it('refuse a pattern too large to review', () => {
    const words = Array.from({ length: MAX_PATTERN_WORDS + 1 }, (_, index) => `w${index}`).join(
      '|',
    );
    expect(() => parsePattern(`{${words}}`)).toThrow(
      new RegExp(`more than ${MAX_PATTERN_WORDS} words`),
    );
  });
});
