import { afterEach, describe, expect, it } from 'vitest';

import { FakeKeyboardHook } from '../../test-helpers/fake-keyboard-hook.ts';
import type { TextEdit } from '../source.ts';
import {
  UiohookTypingSource,
  type TypingPlatform,
  type TypingPreparation,
} from './uiohook-typing-source.ts';

// libuiohook key codes used below.
const KEY = { h: 0x23, i: 0x17, a: 0x1e, enter: 0x1c, backspace: 0x0e } as const;

/** A platform that answers `preparation` and records what it was asked. */
function platform(preparation: TypingPreparation = { ok: true, layout: null, capsLock: null }) {
  const asked: { detectLayout: boolean }[] = [];
  const value: TypingPlatform = {
    prepare: async (options) => {
      asked.push(options);
      return preparation;
    },
    loadHint: 'Check the hook is installed.',
  };
  return { value, asked };
}

describe('UiohookTypingSource', () => {
  const sources: UiohookTypingSource[] = [];

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.stop()));
  });

  async function start(
    options: Partial<ConstructorParameters<typeof UiohookTypingSource>[0]> = {},
    hook = new FakeKeyboardHook(),
  ) {
    const edits: TextEdit[] = [];
    const source = new UiohookTypingSource({
      platform: platform().value,
      loadHook: async () => hook,
      ...options,
    });
    sources.push(source);
    await source.start((edit) => edits.push(edit));
    return { edits, source, hook };
  }

  it('translates the keys the hook reports, and lets go of the hook when stopped', async () => {
    const { edits, source, hook } = await start();
    expect(source.state).toBe('running');
    expect(source.layout).toBe('us');
    expect(hook.started).toBe(1);
    hook.tap(KEY.h, { shift: true });
    hook.tap(KEY.i);
    hook.tap(KEY.backspace);
    hook.click();
    hook.tap(KEY.enter);
    expect(edits).toEqual([
      { kind: 'text', text: 'H' },
      { kind: 'text', text: 'i' },
      { kind: 'backspace' },
      { kind: 'boundary', reason: 'click' },
      { kind: 'boundary', reason: 'enter' },
    ]);

    await source.stop();
    expect(source.state).toBe('stopped');
    expect(hook.stopped).toBe(1);
    expect(hook.listening).toBe(0);
    hook.tap(KEY.a);
    expect(edits).toHaveLength(5);
  });

  it('takes the layout and Caps Lock the platform found, and asks for no layout when one is given', async () => {
    const detected = platform({ ok: true, layout: 'uk', capsLock: true });
    const first = await start({ platform: detected.value });
    expect(first.source.layout).toBe('uk');
    first.hook.tap(KEY.a);
    expect(first.edits).toEqual([{ kind: 'text', text: 'A' }]);
    expect(detected.asked).toEqual([{ detectLayout: true }]);
    await first.source.stop();

    const fixed = platform({ ok: true, layout: 'uk', capsLock: null });
    const second = await start({ platform: fixed.value, layout: 'us' });
    expect(second.source.layout).toBe('us');
    expect(fixed.asked).toEqual([{ detectLayout: false }]);
  });

  it('reports what the platform refused, without loading the hook', async () => {
    let loaded = false;
    const refusing = platform({
      ok: false,
      failure: { code: 'TYPING_SOURCE_NO_RECORD', message: 'no RECORD' },
    });
    const { source } = await start({
      platform: refusing.value,
      loadHook: async () => {
        loaded = true;
        return new FakeKeyboardHook();
      },
    });
    expect(source.state).toBe('failed');
    expect(source.error).toEqual({ code: 'TYPING_SOURCE_NO_RECORD', message: 'no RECORD' });
    expect(loaded).toBe(false);
  });

  it("fails with TYPING_SOURCE_FAILED, and the platform's advice, when the hook cannot be loaded or started", async () => {
    const { source } = await start({
      loadHook: () => Promise.reject(new Error('No native build was found for platform=win32')),
    });
    expect(source.state).toBe('failed');
    expect(source.error?.code).toBe('TYPING_SOURCE_FAILED');
    expect(source.error?.message).toMatch(/No native build.*Check the hook is installed\./);
    await source.stop();

    const refusing = new FakeKeyboardHook();
    refusing.startError = Object.assign(new Error('Failed to register low level windows hook.'), {
      code: 'UIOHOOK_ERROR_SET_WINDOWS_HOOK_EX',
    });
    const second = await start({}, refusing);
    expect(second.source.state).toBe('failed');
    expect(second.source.error?.message).toContain('UIOHOOK_ERROR_SET_WINDOWS_HOOK_EX');
    expect(refusing.listening).toBe(0);
  });

  it('refuses to start a second source while one holds the process-wide hook', async () => {
    const { source: first } = await start();
    const { source: second } = await start();
    expect(first.state).toBe('running');
    expect(second.state).toBe('failed');
    expect(second.error?.code).toBe('TYPING_SOURCE_FAILED');
    await first.stop();
    // Released: a new one may start.
    const { source: third } = await start();
    expect(third.state).toBe('running');
  });
});
