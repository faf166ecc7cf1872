import { describe, expect, it } from 'vitest';

import { squeeze, tokenise, Tokeniser, type Token } from './tokeniser.ts';

const keys = (text: string) => tokenise(text).tokens.map((token) => token.key);

describe('tokeniser: normalisation', () => {
  it('folds case, NFKC forms and accents on Latin letters', () => {
    expect(keys('KILL Ｋｉｌｌ 𝓀𝒾𝓁𝓁 kíll')).toEqual(['kil', 'kil', 'kil', 'kil']);
    expect(keys('Café naïve ŻYCIE')).toEqual(['cafe', 'naive', 'zycie']);
  });

  it('drops zero-width characters and soft hyphens inside words', () => {
    expect(keys('ki\u200Bll my\u200Dse\u00ADlf')).toEqual(['kil', 'myself']);
  });

  it('joins words across apostrophes', () => {
    expect(keys("I'm can’t don't")).toEqual(['im', 'cant', 'dont']);
  });

  it('reads leetspeak only inside words that have letters', () => {
    expect(keys('k1ll $uicide h@te 5uic1de')).toEqual(['kil', 'suicide', 'hate', 'suicide']);
    expect(keys('i h8 u m8')).toEqual(['i', 'hate', 'u', 'mate']);
    expect(keys('meet at 10 on 2024')).toEqual(['met', 'at', '10', 'on', '2024']);
    expect(keys('ww1 3d 11s y9 10pm')).toEqual(['w1', '3d', '1s', 'y9', '10pm']);
    expect(keys('@jake hi')).toEqual(['jake', 'hi']);
  });

  it('counts every run of one letter once', () => {
    expect(keys('sooooo killllll diiiie')).toEqual(['so', 'kil', 'die']);
    expect(squeeze('bookkeeper')).toBe('bokeper');
  });

  it('joins letters spelled out with separators, but not short words', () => {
    expect(keys('k i l l m y s e l f')).toEqual(['kilmyself']);
    expect(keys('k.i.l.l')).toEqual(['kil']);
    expect(keys('d-i-e now')).toEqual(['die', 'now']);
    expect(keys('u r a loser')).toEqual(['u', 'r', 'a', 'loser']);
    expect(keys('i am a b')).toEqual(['i', 'am', 'a', 'b']);
  });

  it('marks masked letters for the matcher to resolve', () => {
    const [token] = tokenise('k*ll').tokens;
    expect(token).toMatchObject({ text: 'k*ll', masked: true });
    expect(keys('*sigh* wow**')).toEqual(['sigh', 'wow']);
  });

  it('maps look-alike letters only inside a word that mixes scripts', () => {
    // "kіll" with a Cyrillic і; "привет" is a Russian word and stays as it is.
    expect(keys('kіll привет')).toEqual(['kil', 'привет']);
  });

  it('treats each emoji as a word of its own, without skin tones or variation selectors', () => {
    expect(keys('🔪🔪u ❤️ 👍🏽')).toEqual(['🔪', '🔪', 'u', '❤', '👍']);
  });

  it('strips Arabic short vowels and unifies letter variants, keeps Bengali vowel signs', () => {
    expect(keys('مُحَمَّد كتاب يوم')).toEqual(keys('محمد کتاب یوم'));
    expect(keys('আমি মরতে চাই')).toEqual(['আমি', 'মরতে', 'চাই']);
  });
});

describe('tokeniser: spans and sentences', () => {
  it('maps every token back to its span in the original text', () => {
    const text = 'Oh  Ｋｉｌｌ k.i.l.l 🔪 end';
    const { tokens } = tokenise(text);
    expect(tokens.map((token) => text.slice(token.start, token.end))).toEqual([
      'Oh',
      'Ｋｉｌｌ',
      'k.i.l.l',
      '🔪',
      'end',
    ]);
  });

  it('ends sentences at full stops, !, ? and new lines, but not inside 3.5 or k.i.l.l', () => {
    const { sentenceOf } = tokenise('one. two! three?!\nfour 3.5 k.i.l.l five');
    expect(sentenceOf).toEqual([0, 1, 2, 3, 3, 3, 3, 3]);
  });

  it('gives the same tokens whether the text comes at once or a character at a time', () => {
    const text = "I'm s0oo d0ne. k i l l 🔪 my$elf!! nobody'd miss me";
    const whole = tokenise(text).tokens;
    const pieces: Token[] = [];
    const tokeniser = new Tokeniser({
      token: (token) => pieces.push(token),
      sentenceEnd: () => {},
    });
    for (const char of text) tokeniser.write(char);
    tokeniser.end();
    expect(pieces).toEqual(whole);
  });
});
