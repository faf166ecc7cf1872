import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  encodePowerShellCommand,
  parseClipboardAnswer,
  POWERSHELL_CLIPBOARD_SCRIPT,
  powerShellClipboardCommand,
  PowerShellClipboardReader,
} from './powershell-clipboard-reader.ts';

const FAKE_POWERSHELL = fileURLToPath(
  new URL('../../test-helpers/fake-powershell-clipboard.child.ts', import.meta.url),
);

describe('the PowerShell helper', () => {
  it('is passed as -EncodedCommand, base64 of UTF-16LE, keeping one character more than the limit', () => {
    const { file, args } = powerShellClipboardCommand(10_000);
    expect(file).toBe('powershell.exe');
    expect(args.slice(0, 4)).toEqual([
      '-NoLogo',
      '-NoProfile',
      '-NonInteractive',
      '-EncodedCommand',
    ]);
    const script = Buffer.from(args[4] ?? '', 'base64').toString('utf16le');
    expect(script).toBe(POWERSHELL_CLIPBOARD_SCRIPT.replace('__MAX__', '10001'));
    expect(script).toContain('Get-Clipboard -Raw');
    expect(encodePowerShellCommand('dir')).toBe('ZABpAHIA');
  });

  it('answers are read only for their own request, and decoded as UTF-8', () => {
    const encoded = Buffer.from('héllo 😀', 'utf8').toString('base64');
    expect(parseClipboardAnswer(`7 T ${encoded}`, 7, 100)).toEqual({
      kind: 'text',
      text: 'héllo 😀',
    });
    expect(parseClipboardAnswer(`6 T ${encoded}`, 7, 100)).toBeNull();
    expect(parseClipboardAnswer('7 N', 7, 100)).toEqual({ kind: 'none' });
    expect(parseClipboardAnswer('7 E ExternalException', 7, 100)).toEqual({ kind: 'skip' });
    expect(parseClipboardAnswer('Windows PowerShell', 7, 100)).toBeNull();
    // PowerShell keeps one character more than the limit: a pair split there is dropped whole.
    const split = Buffer.from('ab\uD83D', 'utf8').toString('base64');
    expect(parseClipboardAnswer(`1 T ${split}`, 1, 2)).toEqual({ kind: 'text', text: 'ab' });
  });
});

describe('PowerShellClipboardReader', () => {
  let dir: string;
  let state: string;
  let reader: PowerShellClipboardReader | undefined;
  const signal = new AbortController().signal;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lantern-powershell-'));
    state = join(dir, 'clipboard.json');
  });

  afterEach(async () => {
    await reader?.close();
    reader = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const set = (value: object): Promise<void> => writeFile(state, JSON.stringify(value));
  const create = (options: { readTimeoutMs?: number; maxFailures?: number } = {}) => {
    reader = new PowerShellClipboardReader({
      command: {
        file: process.execPath,
        args: ['--import', 'tsx', FAKE_POWERSHELL, state, '10001'],
      },
      ...options,
    });
    return reader;
  };

  it('asks one long-lived helper at each read, skipping a read while the clipboard is busy', async () => {
    await set({ kind: 'text', text: 'first' });
    const read = create();
    await expect(read.read(signal)).resolves.toEqual({ kind: 'text', text: 'first' });
    await set({ kind: 'busy' });
    await expect(read.read(signal)).resolves.toEqual({ kind: 'skip' });
    await set({ kind: 'image' });
    await expect(read.read(signal)).resolves.toEqual({ kind: 'none' });
  });

  it('replaces a helper that stops answering or dies, and gives up after three in a row', async () => {
    await set({ kind: 'text', text: 'before' });
    const read = create({ readTimeoutMs: 300, maxFailures: 3 });
    await expect(read.read(signal)).resolves.toMatchObject({ kind: 'text' });
    await set({ kind: 'hang' });
    await expect(read.read(signal)).resolves.toEqual({ kind: 'skip' });
    await set({ kind: 'text', text: 'after a new helper' });
    await expect(read.read(signal)).resolves.toEqual({ kind: 'text', text: 'after a new helper' });

    await set({ kind: 'exit' });
    await expect(read.read(signal)).resolves.toEqual({ kind: 'skip' });
    await expect(read.read(signal)).resolves.toEqual({ kind: 'skip' });
    await expect(read.read(signal)).resolves.toMatchObject({
      kind: 'fatal',
      message: expect.stringContaining('3 times in a row'),
    });
  });

  it('gives up at once when PowerShell is missing', async () => {
    reader = new PowerShellClipboardReader({
      command: { file: join(dir, 'no-such-powershell.exe'), args: [] },
    });
    await expect(reader.read(signal)).resolves.toMatchObject({
      kind: 'fatal',
      message: expect.stringContaining('powershell.exe is missing'),
    });
  });
});
