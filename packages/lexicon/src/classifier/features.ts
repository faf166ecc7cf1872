/**
 * The classifier's features, hashed: what the training script and the matcher both compute
 * from the tokeniser's normalised word keys, so leetspeak, look-alike letters, stretched
 * letters and spelled-out words are undone once, the same way for both stages.
 *
 * For each word of a sentence: the word itself, the pair it makes with the word before it
 * (the first word pairs with a start-of-sentence mark), and the character n-grams of the
 * word with its edges marked (`<kil>` gives `<ki`, `kil`, `il>` for n = 3), which carry
 * misspellings and inflections ("depresed", "starvin") to the weights their neighbours
 * learnt. Each feature is a 32-bit FNV-1a hash, mixed (murmur3's finaliser) and cut to a
 * bucket: no vocabulary is stored, and nothing is allocated per word.
 */

/** Which features a model was trained on: recorded in its header and checked on loading. */
export interface FeatureSpec {
  readonly hash: 'fnv1a32-fmix32';
  /** Buckets the features are hashed into: a power of two. */
  readonly buckets: number;
  readonly words: boolean;
  readonly wordPairs: boolean;
  /** Character n-grams inside each word, edges marked; 0 and 0 for none. */
  readonly charGramMin: number;
  readonly charGramMax: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// Each kind of feature hashes from its own seed, so a word and an n-gram of the same
// letters are different features.
const SEED_WORD = 0x5bd1e995;
const SEED_PAIR = 0x27d4eb2f;
const SEED_GRAM = 0x165667b1;
/** The word before the first word of a sentence. */
export const SENTENCE_START_HASH = 0x3c6ef372;
/** The edge marks of a word for its n-grams (code units no key contains). */
const EDGE = 0x02;

/** murmur3's 32-bit finaliser: FNV's low bits are weak on their own. */
function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash of a word key: a feature of its own, and half of the pairs it makes. */
export function hashWord(key: string): number {
  let h = FNV_OFFSET ^ SEED_WORD;
  for (let index = 0; index < key.length; index += 1) {
    h = Math.imul(h ^ key.charCodeAt(index), FNV_PRIME);
  }
  return mix(h);
}

function hashPair(previous: number, word: number): number {
  return mix(Math.imul(previous ^ SEED_PAIR, FNV_PRIME) ^ word);
}

/** Receives each feature's bucket; called once per feature occurrence. */
export type FeatureVisitor = (bucket: number) => void;

/**
 * Visit the features one word adds to its sentence, given the hash of the word before it
 * (`SENTENCE_START_HASH` for the first). Returns this word's hash, for the next call.
 */
export function visitWordFeatures(
  spec: FeatureSpec,
  key: string,
  previousHash: number,
  visit: FeatureVisitor,
): number {
  const mask = spec.buckets - 1;
  const word = hashWord(key);
  if (spec.words) visit(word & mask);
  if (spec.wordPairs) visit(hashPair(previousHash, word) & mask);
  if (spec.charGramMin <= 0) return word;
  // With its edges marked, a word of length L has L + 3 − n n-grams of length n (none when
  // L + 3 ≤ n). The n-grams starting at one place share their hash as it grows.
  const last = key.length; // the end edge
  for (let from = -1; from + spec.charGramMin - 1 <= last; from += 1) {
    let h = FNV_OFFSET ^ SEED_GRAM;
    for (let at = from; at < from + spec.charGramMax && at <= last; at += 1) {
      h = Math.imul(h ^ (at < 0 || at === last ? EDGE : key.charCodeAt(at)), FNV_PRIME);
      if (at - from + 1 >= spec.charGramMin) visit(mix(h) & mask);
    }
  }
  return word;
}

/** The features of a text's sentences (each a list of word keys), in order: for training. */
export function featuresOf(spec: FeatureSpec, sentences: readonly (readonly string[])[]): number[] {
  const buckets: number[] = [];
  const visit = (bucket: number) => buckets.push(bucket);
  for (const sentence of sentences) {
    let previous = SENTENCE_START_HASH;
    for (const key of sentence) previous = visitWordFeatures(spec, key, previous, visit);
  }
  return buckets;
}
