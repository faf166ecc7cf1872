import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { FIXTURE_LEXICON_DIR, FIXTURE_SITE_DIR } from '../test-fixtures/fixtures.ts';
import { runLexiconCli } from './lexicon.ts';
import { runScanCli } from './scan.ts';

function collector() {
  let text = '';
  return { write: (chunk: string) => (text += chunk), text: () => text };
}

async function scanLines(lines: readonly string[], args: readonly string[] = []) {
  const stdout = collector();
  const stderr = collector();
  const status = await runScanCli(
    args,
    Readable.from(lines.map((line) => `${line}\n`)),
    stdout,
    stderr,
    { baseDir: FIXTURE_LEXICON_DIR },
  );
  return {
    status,
    out: stdout
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
    stderr: stderr.text(),
  };
}

describe('lantern-scan', () => {
  it('answers one line per input line, in order, with flag, severity, categories and matches', async () => {
    const { status, out } = await scanLines([
      JSON.stringify({ id: 'a', source: 'typed', text: 'i am fine thanks' }),
      JSON.stringify({
        id: 'b',
        source: 'typed',
        text: 'nobody cares, im going to kill myself tonight',
      }),
    ]);
    expect(status).toBe(0);
    expect(out[0]).toEqual({ id: 'a', flagged: false, severity: 0, categories: [], matches: [] });
    expect(out[1]).toMatchObject({ id: 'b', flagged: true, severity: 5, categories: ['suicide'] });
    const [match] = out[1]?.matches as { term: string; start: number; end: number }[];
    expect(match).toMatchObject({ category: 'suicide', severity: 5, stage: 'lexicon' });
    expect('nobody cares, im going to kill myself tonight'.slice(match?.start, match?.end)).toBe(
      'im going to kill myself',
    );
  });

  it('puts an error in place of a bad line, goes on, and exits 2', async () => {
    const { status, out } = await scanLines([
      '{not json',
      JSON.stringify({ id: 7, source: 'keylog', text: 'x' }),
      JSON.stringify({ id: 'c', source: 'clipboard', text: 'kms' }),
    ]);
    expect(status).toBe(2);
    expect(out[0]).toEqual({
      error: 'line 1: not JSON: each line must be one object {"id","source","text"}',
    });
    expect(out[1]).toMatchObject({
      id: 7,
      error: expect.stringMatching(/^line 2: source: Invalid option/),
    });
    expect(out[2]).toMatchObject({ id: 'c', flagged: true });
  });

  it('applies a site folder given with --lexicon', async () => {
    const { out } = await scanLines(
      [JSON.stringify({ id: 'd', source: 'typed', text: 'the north road crew' })],
      ['--lexicon', FIXTURE_SITE_DIR],
    );
    expect(out[0]).toMatchObject({ id: 'd', flagged: true, categories: ['criminal_exploitation'] });
  });

  it('marks a classifier match with its stage and probability; --lexicon-only leaves it out', async () => {
    // The shipped lexicon, which comes with the shipped classifier.
    const text = "a man online keeps asking me to turn my camera on when i'm alone";
    const scanShipped = async (args: readonly string[]) => {
      const stdout = collector();
      const input = Readable.from([`${JSON.stringify({ id: 'e', source: 'typed', text })}\n`]);
      expect(await runScanCli(args, input, stdout, collector())).toBe(0);
      return JSON.parse(stdout.text()) as Record<string, unknown>;
    };
    expect(await scanShipped([])).toMatchObject({
      flagged: true,
      matches: [
        {
          term: 'classifier.grooming_cse',
          stage: 'classifier',
          start: 0,
          end: text.length,
          probability: expect.any(Number),
        },
      ],
    });
    expect(await scanShipped(['--lexicon-only'])).toMatchObject({ flagged: false, matches: [] });
  });

  it('refuses an unknown age band', async () => {
    const stderr = collector();
    expect(
      await runScanCli(['--age-band', 'toddler'], Readable.from([]), collector(), stderr),
    ).toBe(2);
    expect(stderr.text()).toContain('--age-band must be primary, secondary or staff');
  });
});

describe('lantern-lexicon check', () => {
  it('validates a lexicon folder and runs its examples', async () => {
    const stdout = collector();
    expect(await runLexiconCli(['check', FIXTURE_LEXICON_DIR], stdout, collector())).toBe(0);
    expect(stdout.text()).toMatch(/^lexicon 0\.0\.1-fixture: 7 terms, 2 exclusions, .* 0 failing/);
  });

  it('checks a site folder over the shipped lexicon and names what is wrong', async () => {
    const stderr = collector();
    // The fixture site disables a term the shipped lexicon does not have.
    expect(await runLexiconCli(['check', FIXTURE_SITE_DIR], collector(), stderr)).toBe(1);
    expect(stderr.text()).toMatch(/overrides\.yaml:\d+ bully\.loser: no shipped term has this id/);
  });
});
