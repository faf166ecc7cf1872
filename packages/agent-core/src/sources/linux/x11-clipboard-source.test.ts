import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { ManualTimers } from '../../test-helpers/manual-timers.ts';
import { waitFor, XServer } from '../../test-helpers/x11.ts';
import { decodeClipboardText } from '../text.ts';
import { X11ClipboardSource } from './x11-clipboard-source.ts';

describe('X11ClipboardSource', { timeout: 30_000 }, () => {
  let x: XServer;
  let source: X11ClipboardSource | undefined;

  beforeAll(async () => {
    x = await XServer.start();
  }, 30_000);

  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  afterAll(async () => {
    await x?.close();
  });

  /** A source whose polls the test runs one at a time. */
  async function watch() {
    const texts: string[] = [];
    const timers = new ManualTimers();
    source = new X11ClipboardSource({ display: x.display, timers });
    await source.start((text) => texts.push(text));
    expect(source.state).toBe('running');
    /** Put `data` on the clipboard and let the source poll once. */
    const copy = async (data: string | Buffer, target?: string): Promise<void> => {
      await x.setClipboard(data, target);
      await timers.poll();
    };
    return { texts, copy, timers };
  }

  it('reports each new text once, and not what was on the clipboard before it started', async () => {
    await x.setClipboard('copied before the agent started');
    const { texts, copy, timers } = await watch();
    await timers.poll();
    await copy('first');
    await timers.poll();
    await copy('second, with ünïcödé and 😀\nand a second line');
    // Copied again (a new owner, the same text): not a change.
    await copy('second, with ünïcödé and 😀\nand a second line');
    await copy('third');
    expect(texts).toEqual(['first', 'second, with ünïcödé and 😀\nand a second line', 'third']);
  });

  it('reports the same text again when something else was copied in between', async () => {
    const { texts, copy } = await watch();
    await copy('again');
    await copy('between');
    await copy('again');
    expect(texts).toEqual(['again', 'between', 'again']);
  });

  it('cuts long text to maxChars', async () => {
    const { texts, copy } = await watch();
    await copy(`${'x'.repeat(60_000)}END`);
    await copy(`${'é'.repeat(9_999)}😀 tail`);
    expect(texts.map((t) => t.length)).toEqual([10_000, 9_999]);
    expect(texts[0]).toBe('x'.repeat(10_000));
    // The emoji would straddle the limit: it is dropped whole, not split.
    expect(texts[1]).toBe('é'.repeat(9_999));
  });

  it('does not report an image, or anything else that is not text', async () => {
    const { texts, copy } = await watch();
    const png = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 0 } },
    })
      .png()
      .toBuffer();
    // xclip, as the owner, answers every target with these bytes: the source reads the PNG
    // when it asks for text, and must see that it is not text.
    await copy(png, 'image/png');
    await copy('  \n ');
    await copy('after the image');
    expect(texts).toEqual(['after the image']);
  });

  it('reads the clipboard when the X server says it changed hands, without polling', async () => {
    const texts: string[] = [];
    // Timers that never fire: only the X server's change events can lead to a read.
    source = new X11ClipboardSource({ display: x.display, timers: new ManualTimers() });
    await source.start((text) => texts.push(text));
    expect(source.changeEvents).toBe(true);
    await x.setClipboard('noticed at once');
    await waitFor('the copy is reported', () => texts.includes('noticed at once'));
    await x.setClipboard('and the next one');
    await waitFor('the next copy is reported', () => texts.includes('and the next one'));
    expect(texts).toEqual(['noticed at once', 'and the next one']);
  });

  it('polls, at its interval, where the X server cannot tell it of changes (a remote display)', async () => {
    const remote = await XServer.start({ windowManager: false, tcp: true });
    try {
      const texts: string[] = [];
      source = new X11ClipboardSource({ display: remote.tcpDisplay, pollIntervalMs: 50 });
      await source.start((text) => texts.push(text));
      expect(source.state).toBe('running');
      expect(source.changeEvents).toBe(false);
      await remote.setClipboard('noticed by polling');
      await waitFor('the copy is reported', () => texts.includes('noticed by polling'));
    } finally {
      await source?.stop();
      await remote.close();
    }
  });

  it('watches a server that asks for the session cookie, found through XAUTHORITY', async () => {
    const guarded = await XServer.start({ windowManager: false, cookie: true });
    vi.stubEnv('XAUTHORITY', guarded.env['XAUTHORITY']);
    try {
      const texts: string[] = [];
      source = new X11ClipboardSource({ display: guarded.display, timers: new ManualTimers() });
      await source.start((text) => texts.push(text));
      expect(source.changeEvents).toBe(true);
      await guarded.setClipboard('behind a cookie');
      await waitFor('the copy is reported', () => texts.includes('behind a cookie'));
    } finally {
      await source?.stop();
      vi.unstubAllEnvs();
      await guarded.close();
    }
  });

  it('fails with CLIPBOARD_SOURCE_FAILED when the X server goes away', async () => {
    const doomed = await XServer.start({ windowManager: false });
    try {
      source = new X11ClipboardSource({ display: doomed.display, pollIntervalMs: 50 });
      await source.start(() => {});
      expect(source.state).toBe('running');
    } finally {
      await doomed.close();
    }
    const failed = source;
    await waitFor('the source notices', () => failed.state === 'failed');
    expect(failed.error?.code).toBe('CLIPBOARD_SOURCE_FAILED');
  });

  it('fails at start when the X server cannot be reached', async () => {
    source = new X11ClipboardSource({ display: ':65000' });
    await source.start(() => {});
    expect(source.state).toBe('failed');
    expect(source.error?.code).toBe('CLIPBOARD_SOURCE_FAILED');
  });
});

describe('decodeClipboardText', () => {
  it('drops a character cut in half at the end of a short read', () => {
    const bytes = Buffer.from('ab😀', 'utf8');
    expect(decodeClipboardText(bytes.subarray(0, bytes.length - 1), true)).toBe('ab');
    expect(decodeClipboardText(bytes, true)).toBe('ab😀');
  });

  it('refuses bytes that are not UTF-8 text', () => {
    expect(decodeClipboardText(Uint8Array.from([0x89, 0x50, 0x4e, 0x47]), false)).toBeNull();
    expect(decodeClipboardText(Buffer.from('a\0b'), false)).toBeNull();
  });
});
