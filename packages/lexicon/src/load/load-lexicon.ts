import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';

import { SeveritySchema, TermIdSchema, type Severity, type SiteOverride } from '@lantern/protocol';

import { loadClassifier, type Classifier } from '../classifier/classifier.ts';
import { LexiconError, type LexiconProblem } from '../errors.ts';
import { parsePattern, PatternError } from '../pattern/pattern.ts';
import {
  CATEGORY_PREFIX,
  ExclusionSchema,
  TermSchema,
  type ExclusionEntry,
  type TermEntry,
} from './schema.ts';

/** The lexicon shipped with Lantern (`packages/lexicon/lexicon`), from src/ or dist/. */
export const BUILT_IN_LEXICON_DIR = join(
  dirname(dirname(dirname(fileURLToPath(import.meta.url)))),
  'lexicon',
);

/** A term as loaded, with where it came from. */
export interface LexiconTerm extends TermEntry {
  readonly language: string;
  readonly file: string;
}

/** An exclusion as loaded, with where it came from. */
export interface LexiconExclusion extends ExclusionEntry {
  readonly language: string;
  readonly file: string;
}

/** A validated lexicon: every pattern compiles and every id is unique. */
export interface Lexicon {
  readonly version: string;
  readonly terms: readonly LexiconTerm[];
  readonly exclusions: readonly LexiconExclusion[];
  /**
   * The second stage that goes with it: the shipped lexicon comes with the shipped model
   * (trained on its examples and calibrated against it); other lexicons have none.
   */
  readonly classifier?: Classifier;
}

/**
 * A lexicon file. A site's folder may also disable shipped terms and change their
 * severity; its own terms and exclusions have ids starting with "site.".
 */
const FileSchema = z.strictObject({
  language: z
    .string()
    .regex(/^([a-z]{2,3})$/, 'must be an ISO 639 code such as "en", or "und" for emoji'),
  terms: z.array(z.unknown()).default([]),
  exclusions: z.array(z.unknown()).default([]),
  disable: z.array(TermIdSchema).default([]),
  setSeverity: z.record(TermIdSchema, SeveritySchema).default({}),
});

const YAML_FILE = /\.ya?ml$/;

async function listYamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && YAML_FILE.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Locates paths of a YAML document by line. */
function locator(doc: Document, lines: LineCounter) {
  return (path: readonly PropertyKey[]): number => {
    for (let depth = path.length; depth >= 0; depth -= 1) {
      const node = doc.getIn(path.slice(0, depth) as (string | number)[], true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return 1;
  };
}

function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) =>
      typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`,
    )
    .join('');
}

interface Collected {
  terms: LexiconTerm[];
  exclusions: LexiconExclusion[];
  disable: { id: string; file: string; line: number }[];
  setSeverity: { id: string; severity: Severity; file: string; line: number }[];
}

/** Parse and validate one file; problems are added to `problems`, valid entries to `into`. */
function readLexiconFile(
  text: string,
  file: string,
  problems: LexiconProblem[],
  into: Collected,
  site: boolean,
): void {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const line = error.linePos?.[0]?.line ?? 1;
      problems.push({
        file,
        line,
        field: '(yaml)',
        message: error.message.split('\n')[0] ?? 'invalid YAML',
      });
    }
    return;
  }
  const lineOf = locator(doc, lines);
  const parsed = FileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({
        file,
        line: lineOf(issue.path),
        field: fieldName(issue.path) || '(file)',
        message: issue.message,
      });
    }
    return;
  }
  const { language } = parsed.data;
  const checkPatterns = (
    patterns: readonly string[],
    base: (string | number)[],
    key = 'patterns',
  ) => {
    patterns.forEach((pattern, index) => {
      try {
        parsePattern(pattern);
      } catch (error) {
        if (!(error instanceof PatternError)) throw error;
        problems.push({
          file,
          line: lineOf([...base, key, index]),
          field: fieldName([...base, key, index]),
          message: error.message,
        });
      }
    });
  };
  const siteIdOk = (id: string) => !site || id.startsWith('site.');

  parsed.data.terms.forEach((raw, index) => {
    const base = ['terms', index];
    // A site's own term is "site.<anything>"; give it the category's prefix for the schema.
    const forSchema =
      site && typeof raw === 'object' && raw !== null && 'id' in raw && 'category' in raw
        ? {
            ...raw,
            id: String(raw.id).replace(
              /^site\./,
              `${CATEGORY_PREFIX[raw.category as keyof typeof CATEGORY_PREFIX] ?? 'site'}.`,
            ),
          }
        : raw;
    const term = TermSchema.safeParse(forSchema);
    if (!term.success) {
      for (const issue of term.error.issues) {
        const path = [...base, ...issue.path];
        problems.push({ file, line: lineOf(path), field: fieldName(path), message: issue.message });
      }
      return;
    }
    const id = site ? String((raw as { id: unknown }).id) : term.data.id;
    if (!siteIdOk(id)) {
      problems.push({
        file,
        line: lineOf([...base, 'id']),
        field: fieldName([...base, 'id']),
        message: 'a site\'s own term id starts with "site."',
      });
      return;
    }
    checkPatterns(term.data.patterns, base);
    if (term.data.together) checkPatterns(term.data.together, base, 'together');
    into.terms.push({ ...term.data, id, language, file });
  });

  parsed.data.exclusions.forEach((raw, index) => {
    const base = ['exclusions', index];
    const exclusion = ExclusionSchema.safeParse(raw);
    if (!exclusion.success) {
      for (const issue of exclusion.error.issues) {
        const path = [...base, ...issue.path];
        problems.push({ file, line: lineOf(path), field: fieldName(path), message: issue.message });
      }
      return;
    }
    if (!siteIdOk(exclusion.data.id)) {
      problems.push({
        file,
        line: lineOf([...base, 'id']),
        field: fieldName([...base, 'id']),
        message: 'a site\'s own exclusion id starts with "site."',
      });
      return;
    }
    checkPatterns(exclusion.data.patterns, base);
    into.exclusions.push({ ...exclusion.data, language, file });
  });

  parsed.data.disable.forEach((id, index) =>
    into.disable.push({ id, file, line: lineOf(['disable', index]) }),
  );
  for (const [id, severity] of Object.entries(parsed.data.setSeverity)) {
    into.setSeverity.push({ id, severity, file, line: lineOf(['setSeverity', id]) });
  }
  if (
    !site &&
    (parsed.data.disable.length > 0 || Object.keys(parsed.data.setSeverity).length > 0)
  ) {
    problems.push({
      file,
      line: 1,
      field: 'disable',
      message: "only a site's folder may disable terms or change their severity",
    });
  }
}

async function collect(
  dir: string,
  site: boolean,
  problems: LexiconProblem[],
  into: Collected,
  root: string,
): Promise<void> {
  let files: string[];
  try {
    files = await listYamlFiles(dir);
  } catch (cause) {
    throw new LexiconError(
      'LEXICON_FILE_UNREADABLE',
      [
        {
          file: dir,
          line: 0,
          field: '(folder)',
          message: `cannot read the lexicon folder: ${(cause as Error).message}`,
        },
      ],
      { cause },
    );
  }
  for (const path of files) {
    const file = relative(root, path) || path;
    readLexiconFile(await readFile(path, 'utf8'), file, problems, into, site);
  }
}

function checkUnique(into: Collected, problems: LexiconProblem[]): void {
  const seen = new Map<string, string>();
  for (const entry of [...into.terms, ...into.exclusions]) {
    const before = seen.get(entry.id);
    if (before) {
      problems.push({
        file: entry.file,
        line: 0,
        field: 'id',
        message: `"${entry.id}" is already used in ${before}`,
      });
    }
    seen.set(entry.id, entry.file);
  }
}

/**
 * Load and validate a lexicon folder, and optionally a site's folder on top of it.
 * The shipped lexicon (no `dir`) comes with the shipped classifier unless `classifier` is
 * `false`; a lexicon from another folder has one only if `classifier` gives it one.
 * @throws LexiconError listing every problem with its file, line and field, or
 *   `LEXICON_CLASSIFIER_INVALID` if the shipped model cannot be loaded.
 */
export async function loadLexicon(
  options: { dir?: string; siteDir?: string; classifier?: Classifier | false } = {},
): Promise<Lexicon> {
  const dir = options.dir ?? BUILT_IN_LEXICON_DIR;
  const classifier =
    options.classifier === false
      ? undefined
      : (options.classifier ?? (options.dir === undefined ? loadClassifier() : undefined));
  const withClassifier = classifier ? { classifier } : {};
  const problems: LexiconProblem[] = [];
  const collected: Collected = { terms: [], exclusions: [], disable: [], setSeverity: [] };
  await collect(dir, false, problems, collected, dir);
  let version = '0.0.0-dev';
  try {
    version = (await readFile(join(dir, 'VERSION'), 'utf8')).trim();
  } catch {
    // A folder without VERSION (a test's or a site's draft) is a development lexicon.
  }
  if (options.siteDir) {
    const site: Collected = { terms: [], exclusions: [], disable: [], setSeverity: [] };
    await collect(options.siteDir, true, problems, site, options.siteDir);
    checkUnique(
      {
        ...collected,
        terms: [...collected.terms, ...site.terms],
        exclusions: [...collected.exclusions, ...site.exclusions],
      },
      problems,
    );
    const known = new Set(collected.terms.map((term) => term.id));
    for (const change of [...site.disable, ...site.setSeverity]) {
      if (!known.has(change.id)) {
        problems.push({
          file: change.file,
          line: change.line,
          field: change.id,
          message: 'no shipped term has this id',
        });
      }
    }
    if (problems.length > 0) throw new LexiconError('LEXICON_INVALID', problems);
    const disabled = new Set(site.disable.map((change) => change.id));
    const severities = new Map(site.setSeverity.map((change) => [change.id, change.severity]));
    return {
      version: `${version}+site`,
      terms: [
        ...collected.terms
          .filter((term) => !disabled.has(term.id))
          .map((term) => ({ ...term, severity: severities.get(term.id) ?? term.severity })),
        ...site.terms,
      ],
      exclusions: [...collected.exclusions, ...site.exclusions],
      ...withClassifier,
    };
  }
  checkUnique(collected, problems);
  if (problems.length > 0) throw new LexiconError('LEXICON_INVALID', problems);
  return {
    version,
    terms: collected.terms,
    exclusions: collected.exclusions,
    ...withClassifier,
  };
}

/**
 * Apply a site's overrides from its policy: add terms and exclusions, disable terms,
 * change severities. Validated like the lexicon's own files.
 * @throws LexiconError `LEXICON_OVERRIDE_INVALID` naming each bad override.
 */
export function applySiteOverrides(
  lexicon: Lexicon,
  overrides: readonly SiteOverride[],
  policyVersion = 'policy',
): Lexicon {
  const problems: LexiconProblem[] = [];
  const file = `policy ${policyVersion}`;
  const known = new Set(lexicon.terms.map((term) => term.id));
  const ids = new Set([...known, ...lexicon.exclusions.map((exclusion) => exclusion.id)]);
  const disabled = new Set<string>();
  const severities = new Map<string, Severity>();
  const added: LexiconTerm[] = [];
  const addedExclusions: LexiconExclusion[] = [];
  overrides.forEach((override, index) => {
    const field = `overrides[${index}]`;
    const problem = (message: string) => problems.push({ file, line: 0, field, message });
    const compiles = (pattern: string) => {
      try {
        parsePattern(pattern);
        return true;
      } catch (error) {
        if (!(error instanceof PatternError)) throw error;
        problem(`pattern: ${error.message}`);
        return false;
      }
    };
    switch (override.action) {
      case 'add_term':
        if (ids.has(override.termId)) return problem(`"${override.termId}" is already used`);
        if (!compiles(override.pattern)) return;
        ids.add(override.termId);
        added.push({
          id: override.termId,
          category: override.category,
          severity: override.severity,
          ageBands: ['primary', 'secondary', 'staff'],
          patterns: [override.pattern],
          note: override.note || 'Added by the school.',
          examples: { match: [], noMatch: [] },
          language: override.language,
          file,
        });
        return;
      case 'add_exclusion':
        if (ids.has(override.exclusionId))
          return problem(`"${override.exclusionId}" is already used`);
        if (!compiles(override.pattern)) return;
        ids.add(override.exclusionId);
        addedExclusions.push({
          id: override.exclusionId,
          patterns: [override.pattern],
          scope: 'overlap',
          maxSeverity: 3,
          note: override.note,
          language: 'und',
          file,
        });
        return;
      case 'disable_term':
        if (!known.has(override.termId)) return problem(`no term has the id "${override.termId}"`);
        disabled.add(override.termId);
        return;
      case 'set_severity':
        if (!known.has(override.termId)) return problem(`no term has the id "${override.termId}"`);
        severities.set(override.termId, override.severity);
        return;
    }
  });
  if (problems.length > 0) throw new LexiconError('LEXICON_OVERRIDE_INVALID', problems);
  return {
    version: `${lexicon.version}+${policyVersion}`,
    terms: [
      ...lexicon.terms
        .filter((term) => !disabled.has(term.id))
        .map((term) => ({ ...term, severity: severities.get(term.id) ?? term.severity })),
      ...added,
    ],
    exclusions: [...lexicon.exclusions, ...addedExclusions],
    ...(lexicon.classifier ? { classifier: lexicon.classifier } : {}),
  };
}
