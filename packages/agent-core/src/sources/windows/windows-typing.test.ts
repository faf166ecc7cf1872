import { afterEach, describe, expect, it } from 'vitest';

import { FakeCommandRunner } from '../../test-helpers/fake-command-runner.ts';
import { FakeKeyboardHook } from '../../test-helpers/fake-keyboard-hook.ts';
import {
  REG_EMPTY_SUBSTITUTES,
  REG_PRELOAD_SUBSTITUTED,
  REG_PRELOAD_UK,
  REG_SUBSTITUTES,
} from '../../test-helpers/windows-samples.ts';
import type { TextEdit } from '../source.ts';
import {
  normaliseWindowsKeycode,
  parseCapsLock,
  parseRegQuery,
  windowsLayoutFromRegistry,
  WindowsTypingSource,
} from './windows-typing.ts';

/**
 * Key codes as libuiohook reports them on Windows, where it maps virtual keys (which the
 * layout assigns) to VC_* codes: on the UK layout the punctuation keys carry the virtual
 * keys that sit elsewhere on a US keyboard.
 */
const WINDOWS = {
  a: 0x1e,
  digit2: 0x03,
  digit3: 0x04,
  digit4: 0x05,
  /** VK_OEM_8 → VC_YEN: the `¬ key, top left, on the UK layout. */
  oem8: 0x7d,
  /** VK_OEM_3 → VC_BACKQUOTE: the '@ key on the UK layout, the `~ key on the US one. */
  oem3: 0x29,
  /** VK_OEM_7 → VC_QUOTE: the #~ key on the UK layout, the '" key on the US one. */
  oem7: 0x28,
  /** VK_OEM_5 → VC_BACK_SLASH: the \| key left of Z on the UK layout. */
  oem5: 0x2b,
  /** VK_OEM_102 → VC_LESSER_GREATER: the key left of Z on the US layout. */
  oem102: 0x0e46,
  ctrlLeft: 0x1d,
  altRight: 0x0e38,
} as const;

describe('reg query output', () => {
  it('reads the values of a key', () => {
    expect([...parseRegQuery(REG_PRELOAD_UK)]).toEqual([
      ['1', '00000809'],
      ['2', '00000409'],
    ]);
    expect(parseRegQuery(REG_EMPTY_SUBSTITUTES).size).toBe(0);
  });

  it('takes the first layout, through its substitute', () => {
    const none = parseRegQuery(REG_EMPTY_SUBSTITUTES);
    expect(windowsLayoutFromRegistry(parseRegQuery(REG_PRELOAD_UK), none)).toBe('uk');
    expect(
      windowsLayoutFromRegistry(
        parseRegQuery(REG_PRELOAD_SUBSTITUTED),
        parseRegQuery(REG_SUBSTITUTES),
      ),
    ).toBe('us');
    // US International (dead keys) and Dvorak have no table; nothing at all is not a layout.
    const only = (klid: string) => new Map([['1', klid]]);
    expect(windowsLayoutFromRegistry(only('00020409'), none)).toBeNull();
    expect(windowsLayoutFromRegistry(only('00010409'), none)).toBeNull();
    expect(windowsLayoutFromRegistry(only('00000452'), none)).toBe('uk');
    expect(windowsLayoutFromRegistry(new Map(), none)).toBeNull();
  });
});

describe('parseCapsLock', () => {
  it("reads PowerShell's True and False", () => {
    expect(parseCapsLock('True\r\n')).toBe(true);
    expect(parseCapsLock('False\r\n')).toBe(false);
    expect(parseCapsLock('')).toBeNull();
  });
});

describe('normaliseWindowsKeycode', () => {
  it('moves the UK punctuation keys to their places, and leaves other keys alone', () => {
    expect(normaliseWindowsKeycode(WINDOWS.oem8, 'uk')).toBe(0x29);
    expect(normaliseWindowsKeycode(WINDOWS.oem3, 'uk')).toBe(0x28);
    expect(normaliseWindowsKeycode(WINDOWS.oem7, 'uk')).toBe(0x2b);
    expect(normaliseWindowsKeycode(WINDOWS.oem5, 'uk')).toBe(0x00);
    expect(normaliseWindowsKeycode(WINDOWS.a, 'uk')).toBe(WINDOWS.a);
    expect(normaliseWindowsKeycode(WINDOWS.oem3, 'us')).toBe(WINDOWS.oem3);
    expect(normaliseWindowsKeycode(WINDOWS.oem102, 'us')).toBe(0x2b);
  });
});

describe('WindowsTypingSource', () => {
  const sources: WindowsTypingSource[] = [];

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.stop()));
  });

  async function start(tools: FakeCommandRunner) {
    const hook = new FakeKeyboardHook();
    const edits: TextEdit[] = [];
    const source = new WindowsTypingSource({ run: tools.run, loadHook: async () => hook });
    sources.push(source);
    await source.start((edit) => edits.push(edit));
    const text = (): string =>
      edits.map((edit) => (edit.kind === 'text' ? edit.text : `[${edit.kind}]`)).join('');
    return { source, hook, text };
  }

  it('types the UK layout as Windows reports its keys: " £ # ~ ` ¬ \' @ \\ | and AltGr €', async () => {
    const tools = new FakeCommandRunner();
    tools.answer('reg', (args) => ({
      stdout: args.includes('HKCU\\Keyboard Layout\\Preload')
        ? REG_PRELOAD_UK
        : REG_EMPTY_SUBSTITUTES,
    }));
    tools.answer('powershell.exe', { stdout: 'False\r\n' });
    const { source, hook, text } = await start(tools);
    expect(source.state).toBe('running');
    expect(source.layout).toBe('uk');

    hook.tap(WINDOWS.digit2, { shift: true });
    hook.tap(WINDOWS.digit3, { shift: true });
    hook.tap(WINDOWS.oem7);
    hook.tap(WINDOWS.oem7, { shift: true });
    hook.tap(WINDOWS.oem8);
    hook.tap(WINDOWS.oem8, { shift: true });
    hook.tap(WINDOWS.oem3);
    hook.tap(WINDOWS.oem3, { shift: true });
    hook.tap(WINDOWS.oem5);
    hook.tap(WINDOWS.oem5, { shift: true });
    // AltGr on Windows: a synthetic Left Ctrl, then Right Alt, held while 4 is pressed.
    hook.down(WINDOWS.ctrlLeft, { ctrl: true });
    hook.down(WINDOWS.altRight, { ctrl: true, alt: true });
    hook.tap(WINDOWS.digit4, { ctrl: true, alt: true });
    hook.up(WINDOWS.altRight, { ctrl: true });
    hook.up(WINDOWS.ctrlLeft);
    expect(text()).toBe('"£#~`¬\'@\\|€');
  });

  it('reads Caps Lock at start, and falls back to US when the registry cannot be read', async () => {
    const tools = new FakeCommandRunner();
    tools.answer('reg', {
      fail: 'failed',
      exitCode: 1,
      stderr: 'ERROR: The system was unable to find the specified registry key or value.',
    });
    tools.answer('powershell.exe', { stdout: 'True\r\n' });
    const { source, hook, text } = await start(tools);
    expect(source.layout).toBe('us');
    hook.tap(WINDOWS.a);
    hook.tap(WINDOWS.oem102, { shift: true });
    expect(text()).toBe('A|');
    expect(tools.callsTo('reg')).toEqual([
      'query HKCU\\Keyboard Layout\\Preload',
      'query HKCU\\Keyboard Layout\\Substitutes',
    ]);
    expect(tools.callsTo('powershell.exe')).toEqual([
      '-NoLogo -NoProfile -NonInteractive -Command [Console]::CapsLock',
    ]);
  });

  it('says it cannot tell password fields', async () => {
    const tools = new FakeCommandRunner();
    const { source } = await start(tools);
    expect(source.state).toBe('running');
    expect(source.inPasswordField()).toBe(false);
  });
});
