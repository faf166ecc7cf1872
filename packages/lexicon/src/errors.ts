import { LanternError } from '@lantern/protocol';

/** Error codes raised by the lexicon package. */
export type LexiconErrorCode =
  | 'LEXICON_FILE_UNREADABLE'
  | 'LEXICON_INVALID'
  | 'LEXICON_PATTERN_INVALID'
  | 'LEXICON_DUPLICATE_ID'
  | 'LEXICON_OVERRIDE_INVALID'
  | 'LEXICON_CLASSIFIER_INVALID';

/** One problem in a lexicon file, located so a person can fix it. */
export interface LexiconProblem {
  readonly file: string;
  /** 1-based; 0 when the problem is the file as a whole. */
  readonly line: number;
  /** The field, as a path: `terms[3].patterns[0]`. */
  readonly field: string;
  readonly message: string;
}

/** Formats a problem the way editors and CI logs link it: `file:line field: message`. */
export function formatProblem(problem: LexiconProblem): string {
  return `${problem.file}:${problem.line} ${problem.field}: ${problem.message}`;
}

/** The lexicon could not be loaded; `problems` lists every one found, not just the first. */
export class LexiconError extends LanternError<LexiconErrorCode> {
  readonly problems: readonly LexiconProblem[];

  constructor(
    code: LexiconErrorCode,
    problems: readonly LexiconProblem[],
    options?: { cause?: unknown },
  ) {
    const shown = problems.slice(0, 20).map(formatProblem);
    const more =
      problems.length > shown.length ? `\n…and ${problems.length - shown.length} more` : '';
    super(
      code,
      `The lexicon has ${problems.length} problem(s):\n${shown.join('\n')}${more}`,
      options,
    );
    this.name = 'LexiconError';
    this.problems = problems;
  }
}
