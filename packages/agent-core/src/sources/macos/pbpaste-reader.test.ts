import { describe, expect, it } from 'vitest';

import { FakeCommandRunner } from '../../test-helpers/fake-command-runner.ts';
import { PbpasteReader } from './pbpaste-reader.ts';

// The reads themselves (text, none, cut) are in the clipboard contract; these are the edges.
describe('PbpasteReader', () => {
  const signal = new AbortController().signal;

  it('asks pbpaste for plain text, in UTF-8 whatever the locale', async () => {
    const tools = new FakeCommandRunner();
    tools.answer('pbpaste', { stdout: 'naïve café' });
    const reader = new PbpasteReader({ run: tools.run });
    await expect(reader.read(signal)).resolves.toEqual({ kind: 'text', text: 'naïve café' });
    expect(tools.calls[0]?.args).toEqual(['-Prefer', 'txt']);
    expect(tools.calls[0]?.env).toMatchObject({ LANG: 'en_US.UTF-8', LC_ALL: 'en_US.UTF-8' });
  });

  it('gives up when pbpaste is missing or fails, and skips a read that timed out', async () => {
    const tools = new FakeCommandRunner();
    const reader = new PbpasteReader({ run: tools.run });
    await expect(reader.read(signal)).resolves.toMatchObject({ kind: 'fatal' });
    tools.answer('pbpaste', { fail: 'failed', exitCode: 1 });
    await expect(reader.read(signal)).resolves.toMatchObject({
      kind: 'fatal',
      message: expect.stringContaining('login session'),
    });
    tools.answer('pbpaste', { fail: 'timeout' });
    await expect(reader.read(signal)).resolves.toEqual({ kind: 'skip' });
  });
});
