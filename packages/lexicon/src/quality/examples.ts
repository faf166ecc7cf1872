import type { AgeBand } from '@lantern/protocol';

import type { Lexicon } from '../load/load-lexicon.ts';
import type { Matcher } from '../matcher/matcher.ts';

/** An example in the lexicon that does not behave as its entry says. */
export interface ExampleFailure {
  readonly id: string;
  readonly file: string;
  readonly kind: 'match' | 'noMatch' | 'suppress';
  readonly example: string;
  readonly message: string;
}

/**
 * Run every entry's examples: each `match` example must produce a match of its term,
 * each `noMatch` must not, and each exclusion's `suppress` example must leave no match in
 * the categories it covers. Examples are scanned as typed text, in the term's first age band.
 */
export function checkExamples(lexicon: Lexicon, matcher: Matcher): ExampleFailure[] {
  const failures: ExampleFailure[] = [];
  for (const term of lexicon.terms) {
    const ageBand: AgeBand = term.ageBands.includes('secondary')
      ? 'secondary'
      : (term.ageBands[0] ?? 'secondary');
    for (const example of term.examples.match) {
      const result = matcher.scan(example, { source: 'typed', ageBand, keepContained: true });
      if (!result.matches.some((match) => match.termId === term.id)) {
        const others = result.matches.map((match) => match.termId);
        failures.push({
          id: term.id,
          file: term.file,
          kind: 'match',
          example,
          message: `does not match${others.length > 0 ? ` (matched instead: ${[...new Set(others)].join(', ')})` : ''}`,
        });
      }
    }
    for (const example of term.examples.noMatch) {
      const result = matcher.scan(example, { source: 'typed', ageBand, keepContained: true });
      if (result.matches.some((match) => match.termId === term.id)) {
        failures.push({
          id: term.id,
          file: term.file,
          kind: 'noMatch',
          example,
          message: 'matches, but must not',
        });
      }
    }
  }
  for (const exclusion of lexicon.exclusions) {
    for (const example of exclusion.examples?.suppress ?? []) {
      const result = matcher.scan(example, { source: 'typed' });
      const left = result.matches.filter(
        (match) => !exclusion.categories || exclusion.categories.includes(match.category),
      );
      if (left.length > 0) {
        failures.push({
          id: exclusion.id,
          file: exclusion.file,
          kind: 'suppress',
          example,
          message: `still matches ${[...new Set(left.map((match) => match.termId))].join(', ')}`,
        });
      }
    }
  }
  return failures;
}
