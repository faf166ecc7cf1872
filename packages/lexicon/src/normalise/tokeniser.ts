/**
 * The normaliser and tokeniser, in one pass over the text. It is streaming (code point by
 * code point) so that the batch scanner and the per-keystroke stream share exactly the
 * same rules, and it keeps every token's span in the original text.
 *
 * What it undoes, so that the lexicon never has to spell variants out: case, NFKC forms
 * (fullwidth, mathematical letters), accents on Latin/Greek/Cyrillic letters, Arabic short
 * vowel marks and letter variants, zero-width characters, apostrophes inside words,
 * leetspeak inside words that have letters, look-alike letters from other scripts inside a
 * Latin word, letters spelled out with separators ("k i l l", "k.i.l.l"), masked letters
 * ("k*ll", resolved by the caller against the lexicon's words), and stretched letters (every
 * run of one letter counts once: the token key of "killl" and "kill" is "kil").
 */

/** One word of the text, normalised, with its span in the original (UTF-16 offsets). */
export interface Token {
  /** The matching key: normalised, with runs of one character squeezed to one. */
  readonly key: string;
  /** Normalised but not squeezed; keeps `*` for masked letters. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Letters were masked (`k*ll`): the key is a guess the caller may resolve. */
  readonly masked: boolean;
}

/** Receives tokens and sentence ends in text order. */
export interface TokenSink {
  token(token: Token): void;
  sentenceEnd(): void;
}

const Kind = {
  Word: 0,
  Mark: 1,
  Apostrophe: 2,
  Mask: 3,
  Leet: 4,
  Emoji: 5,
  Ignore: 6,
  Sentence: 7,
  Dot: 8,
  Space: 9,
  Separator: 10,
} as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface CharInfo {
  readonly kind: Kind;
  /** The normalised text this code point contributes (words and leet symbols). */
  readonly out: string;
  /** A letter whose marks are accents to strip (Latin, Greek, Cyrillic). */
  readonly accentable: boolean;
  readonly isDigit: boolean;
  readonly isLetter: boolean;
  readonly isAsciiLetter: boolean;
  /** A Cyrillic or Greek letter that looks like this Latin one. */
  readonly confusable: string | undefined;
}

const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  // Text-speak, not leetspeak: h8 = hate, m8 = mate, l8r = later.
  '8': 'ate',
  '9': 'g',
  '@': 'a',
  $: 's',
};

/** Cyrillic and Greek letters that pass for Latin ones in a mixed-script word. */
const CONFUSABLES: Readonly<Record<string, string>> = {
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  һ: 'h',
  ӏ: 'l',
  к: 'k',
  ο: 'o',
  α: 'a',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ε: 'e',
};

/** Arabic-script letter variants typed interchangeably (Arabic and Urdu keyboards). */
const ARABIC_VARIANTS: Readonly<Record<string, string>> = {
  ي: 'ی',
  ى: 'ی',
  ك: 'ک',
  أ: 'ا',
  إ: 'ا',
  آ: 'ا',
  ٱ: 'ا',
};

const SENTENCE_ENDS = new Set(['!', '?', '\n', '\r', '…', '。', '؟', '।', '۔', ';']);
const APOSTROPHES = new Set(["'", '’', '‘', 'ʼ', '`', '´']);
/** Zero-width characters, soft hyphens, variation selectors, skin tones and emoji tags. */
function isIgnored(codePoint: number): boolean {
  return (
    (codePoint >= 0x200b && codePoint <= 0x200d) ||
    codePoint === 0x2060 ||
    codePoint === 0xfeff ||
    codePoint === 0x00ad ||
    (codePoint >= 0xfe00 && codePoint <= 0xfe0f) ||
    (codePoint >= 0x1f3fb && codePoint <= 0x1f3ff) ||
    (codePoint >= 0xe0020 && codePoint <= 0xe007f)
  );
}
/** Arabic short vowels and other optional marks, and the tatweel (kashida) stretcher. */
// eslint-disable-next-line no-misleading-character-class -- a class of marks on purpose: each is removed on its own
const ARABIC_MARKS = /[\u064B-\u065F\u0670\u0640\u06D6-\u06ED]/g;
const LETTER = /^\p{L}$/u;
const MARK = /^\p{M}$/u;
const NUMBER = /^\p{N}$/u;
const EMOJI = /^\p{Extended_Pictographic}$/u;
const ACCENTABLE_SCRIPT = /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]$/u;
const COMBINING = /\p{M}/gu;

const infoCache = new Map<number, CharInfo>();

function wordInfo(out: string, char: string, isDigit: boolean): CharInfo {
  const isLetter = !isDigit;
  return {
    kind: Kind.Word,
    out,
    accentable: isLetter && ACCENTABLE_SCRIPT.test(char),
    isDigit,
    isLetter,
    isAsciiLetter: isLetter && out.length > 0 && /^[a-z]+$/.test(out),
    confusable: CONFUSABLES[out],
  };
}

const OTHER = (kind: Kind, out = ''): CharInfo => ({
  kind,
  out,
  accentable: false,
  isDigit: false,
  isLetter: false,
  isAsciiLetter: false,
  confusable: undefined,
});

/** ASCII is most of what pupils type: look it up in an array, not a map. */
const asciiTable: CharInfo[] = [];

function classify(codePoint: number): CharInfo {
  if (codePoint < 128) {
    const ascii = asciiTable[codePoint];
    if (ascii) return ascii;
  }
  const cached = infoCache.get(codePoint);
  if (cached) return cached;
  const info = classifyUncached(String.fromCodePoint(codePoint));
  if (codePoint < 128) asciiTable[codePoint] = info;
  else infoCache.set(codePoint, info);
  return info;
}

function classifyUncached(char: string): CharInfo {
  if (/^[a-z]$/.test(char)) return wordInfo(char, char, false);
  if (/^[A-Z]$/.test(char)) return wordInfo(char.toLowerCase(), char, false);
  if (/^[0-9]$/.test(char)) return wordInfo(char, char, true);
  if (char === ' ' || char === '\t' || char === '\u00A0') return OTHER(Kind.Space);
  if (SENTENCE_ENDS.has(char)) return OTHER(Kind.Sentence);
  if (char === '.') return OTHER(Kind.Dot);
  if (APOSTROPHES.has(char)) return OTHER(Kind.Apostrophe);
  if (char === '*') return OTHER(Kind.Mask);
  if (char === '@' || char === '$') return OTHER(Kind.Leet, LEET[char]);
  if (isIgnored(char.codePointAt(0) ?? 0)) return OTHER(Kind.Ignore);
  if (EMOJI.test(char)) return OTHER(Kind.Emoji, char);
  if (MARK.test(char)) {
    // A mark typed on its own (e.g. a combining accent): Arabic vowel marks vanish; others
    // are decided by the letter before them (see Tokeniser.write).
    return OTHER(char.replace(ARABIC_MARKS, '') === '' ? Kind.Ignore : Kind.Mark, char);
  }
  const isLetter = LETTER.test(char);
  if (!isLetter && !NUMBER.test(char)) {
    return /\s/u.test(char) ? OTHER(Kind.Space) : OTHER(Kind.Separator);
  }
  // NFKC folds compatibility forms (fullwidth, 𝓯𝓪𝓷𝓬𝔂); NFKD then splits accents off Latin,
  // Greek and Cyrillic letters. Other scripts keep their marks (Bengali and Gurmukhi
  // vowel signs are part of the word), recomposed in NFC.
  const folded = char.normalize('NFKC');
  const base = folded.normalize('NFKD');
  let out: string;
  if (ACCENTABLE_SCRIPT.test(base.charAt(0)) || /^[\p{Script=Latin}]/u.test(folded)) {
    out = base.replace(COMBINING, '').toLowerCase();
  } else {
    out = folded.replace(ARABIC_MARKS, '').toLowerCase().normalize('NFC');
  }
  out = out.replace(/ß/g, 'ss').replace(/ı/g, 'i');
  out = ARABIC_VARIANTS[out] ?? out;
  if (/^[0-9]+$/.test(out)) return wordInfo(out, char, true);
  if (out === '') return OTHER(Kind.Ignore);
  return wordInfo(out, char, !isLetter);
}

/** Letters that make a number a quantity, an ordinal or a name, not leetspeak: 11s, 3d, 2nd, ww1, y9, 10pm. */
const NUMBER_AFFIXES = new Set([
  's',
  'st',
  'nd',
  'rd',
  'th',
  'd',
  'pm',
  'am',
  'k',
  'p',
  'x',
  'ww',
  'y',
  'yr',
  'gb',
  'mb',
  'kg',
  'cm',
  'mm',
  'km',
  'g',
  'hrs',
  'h',
  'mins',
]);

/**
 * Digits as letters inside a word with letters (k1ll, 5uicide, h8; Arabizi ra7), except a
 * number with a unit, ordinal or name on one side ("11s", "3d", "2nd", "ww1", "y9", "10pm").
 */
function readLeetDigits(text: string): string {
  const split = /^([0-9]+)([a-z]+)$/.exec(text) ?? /^([a-z]+)([0-9]+)$/.exec(text);
  const letters = split ? (/[a-z]/.test(split[1] ?? '') ? split[1] : split[2]) : undefined;
  // "h8" is hate, not 8 hours: text-speak wins for 8 after a single h or m.
  if (letters !== undefined && NUMBER_AFFIXES.has(letters) && !/^[hm]8$/.test(text)) return text;
  return text.replace(/[0-9]/g, (digit) => LEET[digit] ?? digit);
}

/** Collapse every run of one character to a single one ("kill" → "kil", "sooo" → "so"). */
export function squeeze(text: string): string {
  let out = '';
  let previous = '';
  for (const char of text) {
    if (char !== previous) out += char;
    previous = char;
  }
  return out;
}

interface Pending {
  readonly token: Token;
  /** The separator characters between this token and the one before it. */
  readonly gapBefore: string;
}

/**
 * Streaming normaliser: feed text with `write` (any chunking, down to one code point), then
 * `end()`. Tokens and sentence ends reach the sink in order. A token is emitted once the
 * character after it shows it is complete.
 */
export class Tokeniser {
  private readonly sink: TokenSink;
  private offset = 0;
  // The word being read.
  private parts: string[] = [];
  private start = -1;
  private wordEnd = -1;
  private hasLetter = false;
  private hasDigit = false;
  private hasLeet = false;
  private hasMask = false;
  private hasAsciiLetter = false;
  private hasConfusable = false;
  private hasNonAscii = false;
  private lastAccentable = false;
  /** A mask or leet symbol seen after letters but before the next letter. */
  private trailingSymbols = '';
  private trailingEnd = -1;
  // Between words.
  private gap = '';
  private pendingDot = false;
  /** Single letters that may be one spelled-out word ("k i l l"). */
  private spelled: Pending[] = [];
  private sentenceHasTokens = false;

  constructor(sink: TokenSink) {
    this.sink = sink;
  }

  /** Feed more text; offsets continue from the previous call. */
  write(text: string): void {
    for (let index = 0; index < text.length;) {
      const codePoint = text.codePointAt(index) ?? 0;
      const width = codePoint > 0xffff ? 2 : 1;
      this.writeCodePoint(codePoint, this.offset + index, width);
      index += width;
    }
    this.offset += text.length;
  }

  /** The text ended: flush the last word and end the sentence. */
  end(): void {
    this.finishWord();
    this.pendingDot = false;
    this.endSentence();
  }

  private writeCodePoint(codePoint: number, at: number, width: number): void {
    const info = classify(codePoint);
    if (this.pendingDot) {
      this.pendingDot = false;
      // "." then space or a line end is a full stop; "k.i.l.l" and "3.5" are not.
      if (info.kind === Kind.Space || info.kind === Kind.Sentence) {
        this.endSentence();
      } else {
        this.gap += '.';
      }
    }
    switch (info.kind) {
      case Kind.Word:
        this.addToWord(info, at, width);
        return;
      case Kind.Mark:
        if (this.start >= 0 && !this.lastAccentable) {
          this.parts.push(info.out);
          this.hasNonAscii = true;
          this.wordEnd = at + width;
        }
        return;
      case Kind.Ignore:
        return;
      case Kind.Apostrophe:
        // Inside a word it vanishes (i'm → im); otherwise it separates.
        if (this.start < 0 || this.trailingSymbols !== '') this.separator(info, "'");
        return;
      case Kind.Mask:
      case Kind.Leet:
        if (this.start >= 0) {
          this.trailingSymbols += info.kind === Kind.Mask ? '*' : info.out;
          this.trailingEnd = at + width;
        } else if (info.kind === Kind.Leet && codePoint === 0x24) {
          // "$uicide": a leading $ starts a word; a leading @ is a mention, not a letter.
          this.startWord(at);
          this.trailingSymbols = 's';
          this.trailingEnd = at + width;
        } else {
          this.separator(info, info.kind === Kind.Mask ? '*' : ' ');
        }
        return;
      case Kind.Emoji:
        this.finishWord();
        this.emitEmoji(info.out, at, width);
        return;
      case Kind.Sentence:
        this.finishWord();
        this.endSentence();
        return;
      case Kind.Dot:
        this.finishWord();
        this.pendingDot = true;
        return;
      case Kind.Space:
        this.separator(info, ' ');
        return;
      case Kind.Separator:
        this.separator(info, String.fromCodePoint(codePoint));
        return;
    }
  }

  private startWord(at: number): void {
    this.start = at;
    this.parts = [];
    this.hasLetter = false;
    this.hasDigit = false;
    this.hasLeet = false;
    this.hasMask = false;
    this.hasAsciiLetter = false;
    this.hasConfusable = false;
    this.hasNonAscii = false;
    this.lastAccentable = false;
    this.trailingSymbols = '';
  }

  private addToWord(info: CharInfo, at: number, width: number): void {
    if (this.start < 0) this.startWord(at);
    if (this.trailingSymbols !== '') {
      // Symbols between letters belong to the word: k*ll, h@te, $uicide.
      for (const symbol of this.trailingSymbols) {
        if (symbol === '*') this.hasMask = true;
        else this.hasLeet = true;
      }
      this.parts.push(this.trailingSymbols);
      this.trailingSymbols = '';
    }
    this.parts.push(info.out);
    this.wordEnd = at + width;
    if (info.isDigit) this.hasDigit = true;
    if (info.isLetter) this.hasLetter = true;
    if (info.isAsciiLetter) this.hasAsciiLetter = true;
    if (info.confusable !== undefined) this.hasConfusable = true;
    if (info.out.charCodeAt(0) > 0x7f) this.hasNonAscii = true;
    this.lastAccentable = info.accentable;
  }

  private separator(_info: CharInfo, gapChar: string): void {
    this.finishWord();
    this.gap += gapChar;
  }

  private finishWord(): void {
    if (this.start < 0) return;
    const start = this.start;
    this.start = -1;
    // Trailing symbols after the last letter ("kill**", "wtf$") are not part of the word.
    this.trailingSymbols = '';
    let text = this.parts.join('');
    if (this.hasNonAscii) text = text.normalize('NFC');
    if (this.hasLetter && this.hasDigit) text = readLeetDigits(text);
    if (this.hasConfusable && this.hasAsciiLetter) {
      text = [...text].map((char) => CONFUSABLES[char] ?? char).join('');
    }
    const masked = this.hasMask && this.hasLetter;
    if (this.hasMask && !masked) text = text.replace(/\*/g, '');
    if (text === '') return;
    this.offerToken({ key: masked ? text : squeeze(text), text, start, end: this.wordEnd, masked });
  }

  private emitEmoji(emoji: string, at: number, width: number): void {
    this.offerToken({ key: emoji, text: emoji, start: at, end: at + width, masked: false });
  }

  /** Hold single letters back until it is clear whether they spell a word. */
  private offerToken(token: Token): void {
    const gapBefore = this.gap;
    this.gap = '';
    const single = token.text.length === 1 && LETTER.test(token.text);
    if (single) {
      // A run of single letters continues only across exactly one separator character.
      if (this.spelled.length > 0 && gapBefore.length !== 1) this.flushSpelled();
      this.spelled.push({ token, gapBefore });
      return;
    }
    this.flushSpelled();
    this.emit(token);
  }

  private emit(token: Token): void {
    this.sentenceHasTokens = true;
    this.sink.token(token);
  }

  private flushSpelled(): void {
    const run = this.spelled;
    if (run.length === 0) return;
    this.spelled = [];
    // Four letters with single separators ("k i l l"), or three with a separator that is
    // not a space ("d-i-e", "c.u.t"), are one word; "u r a" stays three words.
    const separators = run.slice(1).map((pending) => pending.gapBefore);
    const joinable =
      run.length >= 4 || (run.length === 3 && separators.every((gap) => gap !== ' '));
    if (!joinable) {
      for (const pending of run) this.emit(pending.token);
      return;
    }
    const first = run[0];
    const last = run[run.length - 1];
    if (!first || !last) return;
    const text = run.map((pending) => pending.token.text).join('');
    this.emit({
      key: squeeze(text),
      text,
      start: first.token.start,
      end: last.token.end,
      masked: false,
    });
  }

  private endSentence(): void {
    this.flushSpelled();
    this.gap = '';
    // "?!\n" ends one sentence, not three.
    if (!this.sentenceHasTokens) return;
    this.sentenceHasTokens = false;
    this.sink.sentenceEnd();
  }
}

/** Normalise and split a whole text (a convenience over `Tokeniser`). */
export function tokenise(text: string): { tokens: Token[]; sentenceOf: number[] } {
  const tokens: Token[] = [];
  const sentenceOf: number[] = [];
  let sentence = 0;
  const tokeniser = new Tokeniser({
    token: (token) => {
      tokens.push(token);
      sentenceOf.push(sentence);
    },
    sentenceEnd: () => {
      sentence += 1;
    },
  });
  tokeniser.write(text);
  tokeniser.end();
  return { tokens, sentenceOf };
}
