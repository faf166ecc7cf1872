/**
 * What every `ClipboardSource` must do, as a test suite run against each implementation:
 * on a real X server for the Linux ones, and for Windows and macOS through their tool's
 * stand-in (a fake `pbpaste`, a fake PowerShell helper speaking the same lines).
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { ClipboardSource } from '../sources/source.ts';
import type { Timers } from '../sources/timers.ts';
import { ManualTimers } from './manual-timers.ts';

/** What can be put on a clipboard: text, or something else (an image). */
export type ClipboardContent = string | { readonly image: Buffer };

export interface ClipboardSourceFixture {
  /** A new, stopped source whose polls run on `timers` (default limits: 10,000 characters). */
  readonly create: (timers: Timers) => ClipboardSource;
  /** Put `content` on the clipboard, as a pupil copying would. */
  readonly copy: (content: ClipboardContent) => Promise<void>;
}

/** A PNG's first bytes: not text, whatever a tool offers it as. */
export const PNG_BYTES = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000080000000808020000004b6d29dc',
  'hex',
);

export function describeClipboardSourceContract(
  name: string,
  fixture: () => ClipboardSourceFixture,
): void {
  describe(`${name} (ClipboardSource contract)`, { timeout: 30_000 }, () => {
    const started: ClipboardSource[] = [];

    afterEach(async () => {
      await Promise.all(started.splice(0).map((source) => source.stop()));
    });

    async function watch() {
      const texts: string[] = [];
      const timers = new ManualTimers();
      const { create, copy } = fixture();
      const source = create(timers);
      started.push(source);
      await source.start((text) => texts.push(text));
      expect(source.state).toBe('running');
      expect(source.error).toBeNull();
      /** Put `content` on the clipboard and let the source poll once. */
      const copyAndPoll = async (content: ClipboardContent): Promise<void> => {
        await copy(content);
        await timers.poll();
      };
      return { texts, timers, source, copy, copyAndPoll };
    }

    it('reports each new text once, and not what was on the clipboard before it started', async () => {
      await fixture().copy('copied before monitoring started');
      const { texts, timers, copyAndPoll } = await watch();
      await timers.poll();
      await copyAndPoll('first');
      await timers.poll();
      await copyAndPoll('second, with ünïcödé and 😀\nand a second line');
      // Copied again: the same text is not a change.
      await copyAndPoll('second, with ünïcödé and 😀\nand a second line');
      await copyAndPoll('third');
      expect(texts).toEqual(['first', 'second, with ünïcödé and 😀\nand a second line', 'third']);
    });

    it('reports the same text again when something else was copied in between', async () => {
      const { texts, copyAndPoll } = await watch();
      await copyAndPoll('again');
      await copyAndPoll('between');
      await copyAndPoll('again');
      await copyAndPoll({ image: PNG_BYTES });
      await copyAndPoll('again');
      expect(texts).toEqual(['again', 'between', 'again', 'again']);
    });

    it('cuts long text to 10,000 characters, never splitting a character', async () => {
      const { texts, copyAndPoll } = await watch();
      await copyAndPoll(`${'x'.repeat(60_000)}END`);
      await copyAndPoll(`${'é'.repeat(9_999)}😀 tail`);
      expect(texts.map((text) => text.length)).toEqual([10_000, 9_999]);
      expect(texts[0]).toBe('x'.repeat(10_000));
      expect(texts[1]).toBe('é'.repeat(9_999));
    });

    it('does not report an image, or text that is only whitespace', async () => {
      const { texts, copyAndPoll } = await watch();
      await copyAndPoll({ image: PNG_BYTES });
      await copyAndPoll('  \n ');
      await copyAndPoll('after the image');
      expect(texts).toEqual(['after the image']);
    });

    it('stops polling when stopped, and takes a new baseline when started again', async () => {
      const { texts, timers, source, copy } = await watch();
      await source.stop();
      expect(source.state).toBe('stopped');
      expect(timers.scheduled).toBe(false);

      await copy('copied while stopped');
      await source.start((text) => texts.push(text));
      expect(source.state).toBe('running');
      await timers.poll();
      await copy('copied after the restart');
      await timers.poll();
      expect(texts).toEqual(['copied after the restart']);
    });
  });
}
