import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { z } from 'zod';

import { AgeBandSchema, describeIssues, SourceSchema, type AgeBand } from '@lantern/protocol';

import { LexiconError } from '../errors.ts';
import { loadLexicon } from '../load/load-lexicon.ts';
import { Matcher } from '../matcher/matcher.ts';

const USAGE = `Usage: lantern-scan [--lexicon DIR] [--age-band primary|secondary|staff] [--lexicon-only] < input.jsonl

Reads JSON Lines {"id","source","text"} (source: typed, window_title or clipboard) on stdin
and writes one JSON line per input line, in order:
  {"id","flagged","severity","categories","matches":[{"term","category","severity","start","end","stage"}]}
"stage" is "lexicon" (a term matched) or "classifier" (the second stage flagged a sentence
the lexicon left silent; "term" is then "classifier.<category>" and the match also carries
"probability"). A bad line gets {"error":"line N: …"} in its place, scanning goes on, and
the exit status is 2.

  --lexicon DIR   a site's lexicon folder (its own terms and exclusions, disabled terms,
                  changed severities) applied over the shipped lexicon
  --age-band B    whose terms and severities apply (default secondary)
  --lexicon-only  leave the second stage (the classifier) out
`;

/** The longest text one input line may carry. */
const MAX_TEXT_CHARS = 1_000_000;

const InputLineSchema = z.object({
  id: z.union([z.string().max(200), z.number()]).optional(),
  source: SourceSchema,
  text: z.string().max(MAX_TEXT_CHARS),
});

interface Writable {
  write(chunk: string): unknown;
}

/** `lantern-scan`: returns the exit status (0 ok, 2 some lines were bad or the options were). */
export async function runScanCli(
  argv: readonly string[],
  input: NodeJS.ReadableStream,
  stdout: Writable,
  stderr: Writable,
  /** The lexicon folder under the site's (tests use a fixture); default: the shipped one. */
  options: { baseDir?: string } = {},
): Promise<number> {
  let values: { lexicon?: string; 'age-band'?: string; 'lexicon-only'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        lexicon: { type: 'string' },
        'age-band': { type: 'string' },
        'lexicon-only': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  const band = AgeBandSchema.safeParse(values['age-band'] ?? 'secondary');
  if (!band.success) {
    stderr.write(`--age-band must be primary, secondary or staff, not "${values['age-band']}".\n`);
    return 2;
  }
  const ageBand: AgeBand = band.data;
  let matcher: Matcher;
  try {
    matcher = new Matcher(
      await loadLexicon({
        ...(options.baseDir ? { dir: options.baseDir } : {}),
        ...(values.lexicon ? { siteDir: values.lexicon } : {}),
        ...(values['lexicon-only'] ? { classifier: false as const } : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof LexiconError)) throw error;
    stderr.write(`${error.message}\n`);
    return 2;
  }

  let status = 0;
  let lineNumber = 0;
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    lineNumber += 1;
    const answer = scanLine(matcher, line, lineNumber, ageBand);
    if ('error' in answer) status = 2;
    stdout.write(`${JSON.stringify(answer)}\n`);
  }
  return status;
}

function scanLine(matcher: Matcher, line: string, lineNumber: number, ageBand: AgeBand): object {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return {
      error: `line ${lineNumber}: not JSON: each line must be one object {"id","source","text"}`,
    };
  }
  const parsed = InputLineSchema.safeParse(json);
  if (!parsed.success) {
    const id = (json as { id?: unknown } | null)?.id;
    const withId = typeof id === 'string' || typeof id === 'number' ? { id } : {};
    return { ...withId, error: `line ${lineNumber}: ${describeIssues(parsed.error)}` };
  }
  const { id, source, text } = parsed.data;
  const result = matcher.scan(text, { source, ageBand });
  return {
    ...(id === undefined ? {} : { id }),
    flagged: result.flagged,
    severity: result.severity,
    categories: result.categories,
    matches: result.matches.map((match) => ({
      term: match.termId,
      category: match.category,
      severity: match.severity,
      start: match.start,
      end: match.end,
      stage: match.stage,
      ...(match.probability === undefined
        ? {}
        : { probability: Math.round(match.probability * 1000) / 1000 }),
    })),
  };
}
