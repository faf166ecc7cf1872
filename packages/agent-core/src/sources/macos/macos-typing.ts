/**
 * The macOS side of the typing source: the input source from HIToolbox's preferences,
 * Caps Lock from AppKit through `osascript`, and the Accessibility refusal as its own code.
 */
import { commandText, runCommand, type CommandRunner } from '../command-runner.ts';
import type { SourceFailure } from '../errors.ts';
import type { KeyboardLayout } from '../key-translator.ts';
import {
  UiohookTypingSource,
  type TypingPlatform,
  type TypingPreparation,
  type UiohookTypingSourceOptions,
} from '../native/uiohook-typing-source.ts';

const PROBE_TIMEOUT_MS = 10_000;

export interface MacTypingOptions {
  /** Runs `defaults` and `osascript`; tests pass one that answers with recorded output. */
  readonly run?: CommandRunner;
}

/**
 * macOS keyboard layouts the translator can read, by input source id. Apple's "British"
 * layout is not the PC UK one: it has @ on Shift+2 and " on Shift+' like the US layout,
 * and differs from it only in £ on Shift+3 (# is on Option+3), so it is read as US, and £
 * comes through as #. "British – PC" is the PC UK layout.
 */
const LAYOUTS_BY_INPUT_SOURCE: Readonly<Record<string, KeyboardLayout>> = {
  'com.apple.keylayout.US': 'us',
  'com.apple.keylayout.ABC': 'us',
  'com.apple.keylayout.British': 'us',
  'com.apple.keylayout.British-PC': 'uk',
};

/** The same layouts by the name HIToolbox stores in `AppleSelectedInputSources` on older macOS. */
const LAYOUTS_BY_NAME: Readonly<Record<string, KeyboardLayout>> = {
  'U.S.': 'us',
  US: 'us',
  ABC: 'us',
  British: 'us',
  'British-PC': 'uk',
};

/**
 * `defaults read com.apple.HIToolbox` output → the layout in use: its
 * `AppleCurrentKeyboardLayoutInputSourceID` (macOS 10.13 and later), else the first
 * `"KeyboardLayout Name"` in `AppleSelectedInputSources`. `null` when neither is there or the
 * layout is one the translator has no table for (Dvorak, US International…).
 */
export function parseHIToolbox(output: string): KeyboardLayout | null {
  const current = /AppleCurrentKeyboardLayoutInputSourceID\s*=\s*"?([^";\s]+)"?\s*;/.exec(output);
  if (current?.[1] !== undefined) return LAYOUTS_BY_INPUT_SOURCE[current[1]] ?? null;
  const selected = /AppleSelectedInputSources\s*=\s*\(([\s\S]*?)\n\s*\);/.exec(output)?.[1];
  const name =
    selected && /"KeyboardLayout Name"\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)\s*;/.exec(selected)?.[1];
  if (!name) return null;
  const unquoted = name.startsWith('"') ? name.slice(1, -1) : name;
  return LAYOUTS_BY_NAME[unquoted] ?? null;
}

/** NSEventModifierFlagCapsLock. */
const CAPS_LOCK_FLAG = 1 << 16;

/** `NSEvent.modifierFlags` as osascript prints it (a number) → whether Caps Lock is on, or null. */
export function parseModifierFlags(output: string): boolean | null {
  const text = output.trim();
  if (!/^\d+$/.test(text)) return null;
  return (Number(text) & CAPS_LOCK_FLAG) !== 0;
}

/** JXA: the keyboard's modifier flags now, Caps Lock among them. */
const MODIFIER_FLAGS_SCRIPT = "ObjC.import('AppKit'); $.NSEvent.modifierFlags";

/** Reads the layout with `defaults` and Caps Lock with `osascript`. */
export function macTypingPlatform(options: MacTypingOptions = {}): TypingPlatform {
  const run = options.run ?? runCommand;
  const text = (file: string, args: readonly string[]): Promise<string | null> =>
    commandText(run, file, args, { timeoutMs: PROBE_TIMEOUT_MS });
  return {
    editingModifier: 'meta',
    async prepare({ detectLayout }): Promise<TypingPreparation> {
      const [toolbox, flags] = await Promise.all([
        detectLayout ? text('defaults', ['read', 'com.apple.HIToolbox']) : null,
        text('osascript', ['-l', 'JavaScript', '-e', MODIFIER_FLAGS_SCRIPT]),
      ]);
      return {
        ok: true,
        layout: toolbox === null ? null : parseHIToolbox(toolbox),
        capsLock: flags === null ? null : parseModifierFlags(flags),
      };
    },
    startFailure(cause: unknown): SourceFailure | null {
      const code = (cause as { code?: unknown } | null)?.code;
      if (code !== 'UIOHOOK_ERROR_AXAPI_DISABLED') return null;
      return {
        code: 'TYPING_SOURCE_NO_ACCESSIBILITY',
        message:
          'macOS refused the keyboard hook: the agent has no Accessibility permission. Allow it in System Settings › Privacy & Security › Accessibility (or with an MDM privacy profile), then restart the agent.',
      };
    },
    loadHint:
      "Reinstall the agent: uiohook-napi's prebuilt addon for macOS (prebuilds/darwin-*) is missing or not signed.",
    // macOS withholds key events from hooks while a password field has focus (Secure Event
    // Input), so no key typed there ever arrives: nothing to skip here.
    inPasswordField: () => false,
  };
}

/** The typing source on macOS: the uiohook hook with the macOS layout, Caps Lock and permission check. */
export class MacTypingSource extends UiohookTypingSource {
  constructor(
    options: MacTypingOptions & Pick<UiohookTypingSourceOptions, 'layout' | 'loadHook'> = {},
  ) {
    super({
      layout: options.layout ?? 'detect',
      loadHook: options.loadHook,
      platform: macTypingPlatform(options),
    });
  }
}
