import { access, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { describeIssues } from '@lantern/protocol';

import { formatProblem, LexiconError } from '../errors.ts';
import { loadLexicon, type Lexicon } from '../load/load-lexicon.ts';
import { Matcher } from '../matcher/matcher.ts';
import { evaluate, EvalItemSchema, formatEvalReport, type EvalItem } from '../quality/evaluate.ts';
import { checkExamples } from '../quality/examples.ts';

const USAGE = `Usage: lantern-lexicon check [DIR]     validate a lexicon folder and run its examples
                                        (a folder without VERSION is checked as a site's
                                        folder over the shipped lexicon; default: shipped)
       lantern-lexicon eval PATH...     recall per category and benign items flagged, on
                                        labelled JSON Lines files or folders of them
                                        [--lexicon DIR] [--lexicon-only] [--verbose]

  --lexicon-only  leave the second stage (the classifier) out: the lexicon alone
`;

interface Writable {
  write(chunk: string): unknown;
}

async function loadFor(dir: string | undefined, lexiconOnly = false): Promise<Lexicon> {
  const classifier = lexiconOnly ? { classifier: false as const } : {};
  if (!dir) return loadLexicon(classifier);
  const isFull = await access(join(dir, 'VERSION')).then(
    () => true,
    () => false,
  );
  return isFull
    ? loadLexicon({ dir, ...classifier })
    : loadLexicon({ siteDir: dir, ...classifier });
}

async function readEvalItems(
  paths: readonly string[],
  stderr: Writable,
): Promise<EvalItem[] | undefined> {
  const files: string[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) {
      for (const name of (await readdir(path)).sort())
        if (name.endsWith('.jsonl')) files.push(join(path, name));
    } else {
      files.push(path);
    }
  }
  const items: EvalItem[] = [];
  let bad = 0;
  for (const file of files) {
    (await readFile(file, 'utf8')).split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        bad += 1;
        stderr.write(`${file}:${index + 1}: not JSON\n`);
        return;
      }
      const parsed = EvalItemSchema.safeParse(json);
      if (!parsed.success) {
        bad += 1;
        stderr.write(`${file}:${index + 1}: ${describeIssues(parsed.error)}\n`);
        return;
      }
      items.push(parsed.data);
    });
  }
  return bad > 0 ? undefined : items;
}

/** `lantern-lexicon`: returns the exit status (0 ok, 1 problems found, 2 usage). */
export async function runLexiconCli(
  argv: readonly string[],
  stdout: Writable,
  stderr: Writable,
): Promise<number> {
  let parsed: {
    values: { lexicon?: string; 'lexicon-only'?: boolean; verbose?: boolean; help?: boolean };
    positionals: string[];
  };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        lexicon: { type: 'string' },
        'lexicon-only': { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (error) {
    stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    (parsed.values.help ? stdout : stderr).write(USAGE);
    return parsed.values.help ? 0 : 2;
  }
  try {
    if (command === 'check') {
      if (rest.length > 1) {
        stderr.write(USAGE);
        return 2;
      }
      const lexicon = await loadFor(rest[0]);
      const started = performance.now();
      const matcher = new Matcher(lexicon);
      const buildMs = performance.now() - started;
      const failures = checkExamples(lexicon, matcher);
      for (const failure of failures) {
        stderr.write(
          `${failure.file} ${failure.id} ${failure.kind} example "${failure.example}": ${failure.message}\n`,
        );
      }
      const examples = lexicon.terms.reduce(
        (sum, term) => sum + term.examples.match.length + term.examples.noMatch.length,
        0,
      );
      const classifier = matcher.classifier
        ? `; classifier trained on ${matcher.classifier.header.trainingData.sha256.slice(0, 12)}, threshold ${matcher.classifier.threshold}`
        : '';
      stdout.write(
        `lexicon ${lexicon.version}: ${lexicon.terms.length} terms, ${lexicon.exclusions.length} exclusions, ` +
          `${matcher.positionCount} automaton positions, built in ${buildMs.toFixed(0)} ms; ` +
          `${examples} examples, ${failures.length} failing${classifier}\n`,
      );
      return failures.length > 0 ? 1 : 0;
    }
    if (command === 'eval') {
      if (rest.length === 0) {
        stderr.write(USAGE);
        return 2;
      }
      const items = await readEvalItems(rest, stderr);
      if (!items) return 1;
      const matcher = new Matcher(
        await loadFor(parsed.values.lexicon, parsed.values['lexicon-only'] ?? false),
      );
      stdout.write(
        formatEvalReport(evaluate(matcher, items), { verbose: parsed.values.verbose ?? false }),
      );
      return 0;
    }
  } catch (error) {
    if (error instanceof LexiconError) {
      for (const problem of error.problems) stderr.write(`${formatProblem(problem)}\n`);
      stderr.write(`${error.problems.length} problem(s) found.\n`);
      return 1;
    }
    throw error;
  }
  stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
  return 2;
}
