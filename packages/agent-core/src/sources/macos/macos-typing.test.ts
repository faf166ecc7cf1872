import { afterEach, describe, expect, it } from 'vitest';

import { FakeCommandRunner } from '../../test-helpers/fake-command-runner.ts';
import { FakeKeyboardHook } from '../../test-helpers/fake-keyboard-hook.ts';
import {
  HITOOLBOX_BRITISH,
  HITOOLBOX_BRITISH_PC,
  HITOOLBOX_DVORAK,
  HITOOLBOX_US_OLD,
} from '../../test-helpers/macos-samples.ts';
import { MacTypingSource, parseHIToolbox, parseModifierFlags } from './macos-typing.ts';

describe('parseHIToolbox', () => {
  it('reads the current layout, or the selected one on older macOS', () => {
    // Apple's British layout types @ and " where the US one does: read as US (see macos-typing.ts).
    expect(parseHIToolbox(HITOOLBOX_BRITISH)).toBe('us');
    expect(parseHIToolbox(HITOOLBOX_BRITISH_PC)).toBe('uk');
    expect(parseHIToolbox(HITOOLBOX_US_OLD)).toBe('us');
    expect(parseHIToolbox(HITOOLBOX_DVORAK)).toBeNull();
    expect(parseHIToolbox('')).toBeNull();
  });
});

describe('parseModifierFlags', () => {
  it('reads Caps Lock from NSEvent.modifierFlags', () => {
    expect(parseModifierFlags('65536\n')).toBe(true);
    expect(parseModifierFlags('65792\n')).toBe(true); // Caps Lock and another flag
    expect(parseModifierFlags('0\n')).toBe(false);
    expect(parseModifierFlags('256\n')).toBe(false);
    expect(parseModifierFlags('execution error: …\n')).toBeNull();
  });
});

describe('MacTypingSource', () => {
  const sources: MacTypingSource[] = [];

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.stop()));
  });

  function tools(): FakeCommandRunner {
    const run = new FakeCommandRunner();
    run.answer('defaults', { stdout: HITOOLBOX_BRITISH_PC });
    run.answer('osascript', { stdout: '65536\n' });
    return run;
  }

  it('reads the layout with defaults and Caps Lock with osascript, once, at start', async () => {
    const run = tools();
    const hook = new FakeKeyboardHook();
    const source = new MacTypingSource({ run: run.run, loadHook: async () => hook });
    sources.push(source);
    const texts: string[] = [];
    await source.start((edit) => {
      if (edit.kind === 'text') texts.push(edit.text);
    });
    expect(source.state).toBe('running');
    expect(source.layout).toBe('uk');
    hook.tap(0x1e); // a, with Caps Lock on
    hook.tap(0x03, { shift: true }); // Shift+2 on British – PC
    expect(texts.join('')).toBe('A"');
    expect(run.callsTo('defaults')).toEqual(['read com.apple.HIToolbox']);
    expect(run.callsTo('osascript')).toEqual([
      "-l JavaScript -e ObjC.import('AppKit'); $.NSEvent.modifierFlags",
    ]);
  });

  it('fails with TYPING_SOURCE_NO_ACCESSIBILITY when macOS refuses the hook', async () => {
    const hook = new FakeKeyboardHook();
    // What uiohook-napi throws when AXIsProcessTrusted says no.
    hook.startError = Object.assign(new Error('Failed to enable access for assistive devices.'), {
      code: 'UIOHOOK_ERROR_AXAPI_DISABLED',
    });
    const source = new MacTypingSource({ run: tools().run, loadHook: async () => hook });
    sources.push(source);
    await source.start(() => {});
    expect(source.state).toBe('failed');
    expect(source.error?.code).toBe('TYPING_SOURCE_NO_ACCESSIBILITY');
    expect(source.error?.message).toContain('Accessibility');
    expect(hook.listening).toBe(0);
  });
});
