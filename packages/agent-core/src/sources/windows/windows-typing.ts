/**
 * The Windows side of the typing source: the keyboard layout from the registry, Caps Lock
 * from PowerShell, and the key-code correction libuiohook needs on Windows.
 */
import { commandText, runCommand, type CommandRunner } from '../command-runner.ts';
import type { SourceFailure } from '../errors.ts';
import type { KeyboardLayout } from '../key-translator.ts';
import {
  UiohookTypingSource,
  describeError,
  type TypingPlatform,
  type TypingPreparation,
  type UiohookTypingSourceOptions,
} from '../native/uiohook-typing-source.ts';

const PROBE_TIMEOUT_MS = 10_000;

export interface WindowsTypingOptions {
  /** Runs `reg` and `powershell`; tests pass one that answers with recorded output. */
  readonly run?: CommandRunner;
}

/** `reg query` output → the values of the key, by name (names as printed, values trimmed). */
export function parseRegQuery(output: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of output.split(/\r?\n/)) {
    // "    1    REG_SZ    00000809": four-space separated name, type and data.
    const match = /^\s+(.+?)\s+(REG_[A-Z_]+)\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined) values.set(match[1], match[3] ?? '');
  }
  return values;
}

/** Keyboard layout ids (KLIDs) the translator has a table for. */
const LAYOUTS_BY_KLID: Readonly<Record<string, KeyboardLayout>> = {
  '00000409': 'us', // US
  '00000809': 'uk', // United Kingdom
  '00000452': 'uk', // United Kingdom Extended: the UK layout, plus accents on AltGr
};

/**
 * The user's first keyboard layout, from `HKCU\Keyboard Layout\Preload` value `1`, through
 * `HKCU\Keyboard Layout\Substitutes` (a language with another language's keyboard, such as
 * English (UK) with the US keyboard, is stored as `d0010809` → `00000409`). `null` when there
 * is none, or it is one the translator has no table for (US International, Dvorak…).
 */
export function windowsLayoutFromRegistry(
  preload: ReadonlyMap<string, string>,
  substitutes: ReadonlyMap<string, string>,
): KeyboardLayout | null {
  const first = preload.get('1')?.toLowerCase();
  if (first === undefined) return null;
  const substitute = [...substitutes].find(([name]) => name.toLowerCase() === first)?.[1];
  const klid = (substitute ?? first).toLowerCase();
  return LAYOUTS_BY_KLID[klid] ?? null;
}

/** `[Console]::CapsLock` as PowerShell prints it (`True`/`False`) → the state, or null. */
export function parseCapsLock(output: string): boolean | null {
  const answer = output.trim().toLowerCase();
  return answer === 'true' ? true : answer === 'false' ? false : null;
}

/**
 * libuiohook on Windows derives its key codes from the *virtual key* Windows reports, which
 * the layout assigns: on the UK layout the punctuation keys carry other virtual keys than
 * on the US one (the `'@` key is VK_OEM_3, the US backquote), so uiohook names them after
 * the US key that has that virtual key. The translator reads keys by their place on the
 * keyboard, as X11 and macOS report them: this puts them back there.
 */
const WINDOWS_UK_KEYS: Readonly<Record<number, number>> = {
  0x007d: 0x0029, // VK_OEM_8 (VC_YEN): the `¬ key, top left
  0x0029: 0x0028, // VK_OEM_3 (VC_BACKQUOTE): the '@ key, right of ;
  0x0028: 0x002b, // VK_OEM_7 (VC_QUOTE): the #~ key, left of Enter
  0x002b: 0x0000, // VK_OEM_5 (VC_BACK_SLASH): the \| key left of Z, which the UK table reads as 0
};

/** On the US layout the extra ISO key (left of Z) is VK_OEM_102 (VC_LESSER_GREATER), and types \ and |. */
const WINDOWS_US_KEYS: Readonly<Record<number, number>> = {
  0x0e46: 0x002b,
};

/** A key code from uiohook on Windows → the code of the key at that place, for the translator. */
export function normaliseWindowsKeycode(keycode: number, layout: KeyboardLayout): number {
  const table = layout === 'uk' ? WINDOWS_UK_KEYS : WINDOWS_US_KEYS;
  return Object.hasOwn(table, keycode) ? (table[keycode] ?? keycode) : keycode;
}

/** Reads the layout and Caps Lock with `reg` and `powershell`. */
export function windowsTypingPlatform(options: WindowsTypingOptions = {}): TypingPlatform {
  const run = options.run ?? runCommand;
  const text = (file: string, args: readonly string[]): Promise<string | null> =>
    commandText(run, file, args, { timeoutMs: PROBE_TIMEOUT_MS });
  return {
    async prepare({ detectLayout }): Promise<TypingPreparation> {
      const [preload, substitutes, caps] = await Promise.all([
        detectLayout ? text('reg', ['query', 'HKCU\\Keyboard Layout\\Preload']) : null,
        detectLayout ? text('reg', ['query', 'HKCU\\Keyboard Layout\\Substitutes']) : null,
        // Once, at start: PowerShell takes a second or so to start, and the translator
        // follows Caps Lock presses after that.
        text('powershell.exe', [
          '-NoLogo',
          '-NoProfile',
          '-NonInteractive',
          '-Command',
          '[Console]::CapsLock',
        ]),
      ]);
      const layout =
        preload === null
          ? null
          : windowsLayoutFromRegistry(parseRegQuery(preload), parseRegQuery(substitutes ?? ''));
      return { ok: true, layout, capsLock: caps === null ? null : parseCapsLock(caps) };
    },
    normaliseKeycode: normaliseWindowsKeycode,
    startFailure(cause: unknown): SourceFailure | null {
      return {
        code: 'TYPING_SOURCE_FAILED',
        message: `Windows refused the keyboard hook (${describeError(cause)}): the agent must run in the pupil's desktop session, not as a service.`,
      };
    },
    loadHint:
      "Reinstall the agent: uiohook-napi's prebuilt addon for Windows (prebuilds/win32-x64) is missing or blocked.",
    // Windows can tell only through UI Automation (IsPassword), which is not used: see README.md.
    inPasswordField: () => false,
  };
}

/** The typing source on Windows: the uiohook hook with Windows' layout, Caps Lock and key codes. */
export class WindowsTypingSource extends UiohookTypingSource {
  constructor(
    options: WindowsTypingOptions & Pick<UiohookTypingSourceOptions, 'layout' | 'loadHook'> = {},
  ) {
    super({
      layout: options.layout ?? 'detect',
      loadHook: options.loadHook,
      platform: windowsTypingPlatform(options),
    });
  }
}
