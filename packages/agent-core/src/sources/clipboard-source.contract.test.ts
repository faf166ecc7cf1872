import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll } from 'vitest';

import {
  describeClipboardSourceContract,
  type ClipboardContent,
} from '../test-helpers/clipboard-source-contract.ts';
import { FakeCommandRunner } from '../test-helpers/fake-command-runner.ts';
import { XServer } from '../test-helpers/x11.ts';
import { PollingClipboardSource } from './clipboard-poller.ts';
import { X11ClipboardSource } from './linux/x11-clipboard-source.ts';
import { XclipReader } from './linux/xclip-reader.ts';
import { MacClipboardSource } from './macos/pbpaste-reader.ts';
import { WindowsClipboardSource } from './windows/powershell-clipboard-reader.ts';

const FAKE_POWERSHELL = fileURLToPath(
  new URL('../test-helpers/fake-powershell-clipboard.child.ts', import.meta.url),
);

let x: XServer;
let dir: string;

beforeAll(async () => {
  x = await XServer.start({ windowManager: false });
  dir = await mkdtemp(join(tmpdir(), 'lantern-clipboard-'));
  await writeFile(windowsClipboard(), JSON.stringify({ kind: 'empty' }));
}, 30_000);

afterAll(async () => {
  await x?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Copy on the test X server: text as UTF8_STRING, an image as image/png (xclip then answers every target with the PNG). */
const copyOnX = (content: ClipboardContent): Promise<void> =>
  typeof content === 'string'
    ? x.setClipboard(content)
    : x.setClipboard(content.image, 'image/png');

describeClipboardSourceContract('X11ClipboardSource', () => ({
  create: (timers) => new X11ClipboardSource({ display: x.display, timers }),
  copy: copyOnX,
}));

describeClipboardSourceContract('PollingClipboardSource with XclipReader', () => ({
  create: (timers) =>
    new PollingClipboardSource({ reader: new XclipReader({ display: x.display }), timers }),
  copy: copyOnX,
}));

// macOS: pbpaste prints the pasteboard's text as UTF-8 (as asked), and nothing at all, with
// exit code 0, when it holds no text.
const pbpaste = new FakeCommandRunner();
let pasteboard: Buffer = Buffer.alloc(0);
pbpaste.answer('pbpaste', () => ({ stdout: pasteboard }));
describeClipboardSourceContract('MacClipboardSource (pbpaste stand-in)', () => ({
  create: (timers) => new MacClipboardSource({ run: pbpaste.run, timers }),
  copy: async (content) => {
    pasteboard = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.alloc(0);
  },
}));

// Windows: a stand-in helper process speaking the PowerShell helper's lines.
const windowsClipboard = (): string => join(dir, 'windows-clipboard.json');
describeClipboardSourceContract('WindowsClipboardSource (PowerShell helper stand-in)', () => {
  const state = windowsClipboard();
  return {
    create: (timers) =>
      new WindowsClipboardSource({
        timers,
        command: {
          file: process.execPath,
          args: ['--import', 'tsx', FAKE_POWERSHELL, state, '10001'],
        },
      }),
    copy: (content) =>
      writeFile(
        state,
        JSON.stringify(
          typeof content === 'string' ? { kind: 'text', text: content } : { kind: 'image' },
        ),
      ),
  };
});
