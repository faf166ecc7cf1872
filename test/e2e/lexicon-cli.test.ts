import { describe, expect, it } from 'vitest';

import { builtProgram, startNode } from '../helpers/process.ts';

describe('lantern-scan (built CLI, as `pnpm exec lantern-scan` runs it)', () => {
  it('reads JSON Lines on stdin and answers each line in order; a bad line exits 2', async () => {
    const scan = startNode(
      builtProgram('packages/lexicon/bin/lantern-scan.js'),
      ['--age-band', 'secondary'],
      {
        PATH: process.env.PATH,
      },
    );
    scan.child.stdin.end(
      [
        JSON.stringify({ id: 'ok', source: 'typed', text: 'see you at football practice' }),
        JSON.stringify({
          id: 'risk',
          source: 'typed',
          text: 'honestly i want to kill myself tonight',
        }),
        'not json',
        JSON.stringify({
          id: 'title',
          source: 'window_title',
          text: 'how to tie a noose - Google Search',
        }),
      ].join('\n'),
    );
    expect(await scan.exited()).toBe(2);
    const lines = scan
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({
      id: 'ok',
      flagged: false,
      severity: 0,
      categories: [],
      matches: [],
    });
    expect(lines[1]).toMatchObject({
      id: 'risk',
      flagged: true,
      severity: 5,
      categories: ['suicide'],
    });
    expect(lines[2]).toEqual({
      error: 'line 3: not JSON: each line must be one object {"id","source","text"}',
    });
    expect(lines[3]).toMatchObject({ id: 'title', flagged: true });
  });

  it('validates the shipped lexicon with lantern-lexicon check', async () => {
    const check = startNode(builtProgram('packages/lexicon/bin/lantern-lexicon.js'), ['check'], {
      PATH: process.env.PATH,
    });
    expect(await check.exited()).toBe(0);
    expect(check.output()).toMatch(/^lexicon \S+: \d+ terms, \d+ exclusions, .* 0 failing/);
  });
});
