/**
 * The agent's four sources for the operating system it runs on, chosen in one place so the
 * headless agent and the shells wire them the same way.
 */
import type { SourceState } from '@lantern/protocol';

import type { SourceFailure } from './errors.ts';
import type { KeyboardLayout } from './key-translator.ts';
import { LinuxSessionSource } from './linux/linux-session-source.ts';
import { X11ClipboardSource } from './linux/x11-clipboard-source.ts';
import { X11TypingSource } from './linux/x11-typing-source.ts';
import { X11WindowSource } from './linux/x11-window-source.ts';
import { MacSessionSource } from './macos/macos-session-source.ts';
import { MacTypingSource } from './macos/macos-typing.ts';
import { MacClipboardSource } from './macos/pbpaste-reader.ts';
import { GetWindowsSource } from './native/get-windows-source.ts';
import type {
  ClipboardSource,
  SessionSource,
  Source,
  TypingSource,
  WindowSource,
} from './source.ts';
import { WindowsClipboardSource } from './windows/powershell-clipboard-reader.ts';
import { WindowsSessionSource } from './windows/windows-session-source.ts';
import { WindowsTypingSource } from './windows/windows-typing.ts';

/** The platforms with sources; anything else gets sources that say `unsupported`. */
export type SourcePlatform = 'linux' | 'win32' | 'darwin' | 'unsupported';

export interface PlatformSourcesOptions {
  /** The operating system to build sources for; default `process.platform`. */
  readonly platform?: NodeJS.Platform;
  /** Linux: the X display; default `$DISPLAY`. */
  readonly display?: string | undefined;
  /** The keyboard layout; `detect` (the default) asks the platform once at start, else US. */
  readonly layout?: KeyboardLayout | 'detect' | undefined;
}

/** The four sources the agent watches, for one platform. None is started: the agent starts and stops them. */
export interface PlatformSources {
  readonly platform: SourcePlatform;
  readonly window: WindowSource;
  readonly typing: TypingSource;
  readonly clipboard: ClipboardSource;
  readonly session: SessionSource;
}

/**
 * The sources for `platform`:
 * - `linux`: X11 (xprop, uiohook over RECORD, xclip, logind); see sources/linux/README.md.
 * - `win32`: get-windows, uiohook, a PowerShell clipboard helper, quser/tasklist; see sources/windows/README.md.
 * - `darwin`: get-windows, uiohook, pbpaste, ioreg; see sources/macos/README.md.
 * - anything else: four sources whose state is `unsupported` (code SOURCE_PLATFORM_UNSUPPORTED).
 * Building them starts nothing and loads no native addon: that happens in `start()`.
 */
export function createPlatformSources(options: PlatformSourcesOptions = {}): PlatformSources {
  const platform = options.platform ?? process.platform;
  const layout = options.layout ?? 'detect';
  switch (platform) {
    case 'linux': {
      const display = options.display ?? process.env['DISPLAY'];
      return {
        platform,
        window: new X11WindowSource({ display }),
        typing: new X11TypingSource({ layout }),
        clipboard: new X11ClipboardSource({ display }),
        session: new LinuxSessionSource(),
      };
    }
    case 'win32':
      return {
        platform,
        window: new GetWindowsSource({ platform }),
        typing: new WindowsTypingSource({ layout }),
        clipboard: new WindowsClipboardSource(),
        session: new WindowsSessionSource(),
      };
    case 'darwin':
      return {
        platform,
        window: new GetWindowsSource({ platform }),
        typing: new MacTypingSource({ layout }),
        clipboard: new MacClipboardSource(),
        session: new MacSessionSource(),
      };
    default:
      return {
        platform: 'unsupported',
        window: new UnsupportedSource('the active window', platform),
        typing: new UnsupportedSource('typing', platform),
        clipboard: new UnsupportedSource('the clipboard', platform),
        session: new UnsupportedSource('the session', platform),
      };
  }
}

/** A source for a platform Lantern has none for: always `unsupported`, starting and stopping do nothing. */
export class UnsupportedSource<Event> implements Source<Event> {
  readonly state: SourceState = 'unsupported';
  readonly error: SourceFailure;

  constructor(what: string, platform: string) {
    this.error = {
      code: 'SOURCE_PLATFORM_UNSUPPORTED',
      message: `Lantern cannot watch ${what} on ${platform}: the agent supports Linux (X11), Windows and macOS.`,
    };
  }

  async start(_onEvent: (event: Event) => void): Promise<void> {
    // Nothing to watch here: the state says so.
  }

  async stop(): Promise<void> {
    // Nothing was started.
  }
}
