import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { LexiconError } from '../errors.ts';
import { loadLexicon } from './load-lexicon.ts';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function lexiconWith(files: Record<string, string>): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'lexicon-'));
  await writeFile(join(dir, 'VERSION'), '1.0.0\n');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function problems(files: Record<string, string>): Promise<string[]> {
  try {
    await loadLexicon({ dir: await lexiconWith(files) });
  } catch (error) {
    if (error instanceof LexiconError)
      return error.problems.map(
        (problem) => `${problem.file}:${problem.line} ${problem.field}: ${problem.message}`,
      );
    throw error;
  }
  return [];
}

const term = (overrides: string) => `language: en
terms:
  - id: suicide.test
    category: suicide
    severity: 4
    ageBands: [secondary]
    patterns: ["want to die"]
    note: test
    examples:
      match: ["i want to die"]
${overrides}`;

describe('loadLexicon', () => {
  it('loads a valid folder with its version', async () => {
    const lexicon = await loadLexicon({ dir: await lexiconWith({ 'en/a.yaml': term('') }) });
    expect(lexicon.version).toBe('1.0.0');
    expect(lexicon.terms).toEqual([
      expect.objectContaining({ id: 'suicide.test', language: 'en', file: 'en/a.yaml' }),
    ]);
  });

  it('names the file, line and field of a bad value', async () => {
    const text = term('').replace('severity: 4', 'severity: 9');
    expect(await problems({ 'en/a.yaml': text })).toEqual([
      'en/a.yaml:5 terms[0].severity: Too big: expected number to be <=5',
    ]);
  });

  it('names the column of a bad pattern', async () => {
    const text = term('').replace('["want to die"]', '["want {to|2 die"]');
    expect(await problems({ 'en/a.yaml': text })).toEqual([
      'en/a.yaml:7 terms[0].patterns[0]: "{" is never closed by "}" at column 6',
    ]);
  });

  it('reports YAML syntax errors and unknown fields', async () => {
    expect((await problems({ 'en/a.yaml': 'language: en\nterms: [' }))[0]).toMatch(
      /^en\/a.yaml:\d+ \(yaml\): /,
    );
    expect(await problems({ 'en/a.yaml': term('    colour: red') })).toEqual([
      'en/a.yaml:3 terms[0]: Unrecognized key: "colour"',
    ]);
  });

  it('requires the category prefix on ids and unique ids across files', async () => {
    expect(await problems({ 'en/a.yaml': term('').replace('suicide.test', 'sh.test') })).toEqual([
      'en/a.yaml:3 terms[0].id: a suicide term id starts with "suicide."',
    ]);
    expect(await problems({ 'en/a.yaml': term(''), 'en/b.yaml': term('') })).toEqual([
      'en/b.yaml:0 id: "suicide.test" is already used in en/a.yaml',
    ]);
  });

  it('lets only a site folder disable terms', async () => {
    expect(await problems({ 'en/a.yaml': `${term('')}disable: [suicide.test]\n` })).toEqual([
      "en/a.yaml:1 disable: only a site's folder may disable terms or change their severity",
    ]);
  });
});
