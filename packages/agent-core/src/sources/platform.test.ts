import { describe, expect, it } from 'vitest';

import { LinuxSessionSource } from './linux/linux-session-source.ts';
import { X11ClipboardSource } from './linux/x11-clipboard-source.ts';
import { X11TypingSource } from './linux/x11-typing-source.ts';
import { X11WindowSource } from './linux/x11-window-source.ts';
import { MacSessionSource } from './macos/macos-session-source.ts';
import { MacTypingSource } from './macos/macos-typing.ts';
import { MacClipboardSource } from './macos/pbpaste-reader.ts';
import { GetWindowsSource } from './native/get-windows-source.ts';
import { createPlatformSources, UnsupportedSource } from './platform.ts';
import { WindowsClipboardSource } from './windows/powershell-clipboard-reader.ts';
import { WindowsSessionSource } from './windows/windows-session-source.ts';
import { WindowsTypingSource } from './windows/windows-typing.ts';

describe('createPlatformSources', () => {
  it('builds the X11 sources on Linux, the get-windows and uiohook ones on Windows and macOS', () => {
    expect(createPlatformSources({ platform: 'linux', display: ':99' })).toEqual({
      platform: 'linux',
      window: expect.any(X11WindowSource),
      typing: expect.any(X11TypingSource),
      clipboard: expect.any(X11ClipboardSource),
      session: expect.any(LinuxSessionSource),
    });
    expect(createPlatformSources({ platform: 'win32' })).toEqual({
      platform: 'win32',
      window: expect.any(GetWindowsSource),
      typing: expect.any(WindowsTypingSource),
      clipboard: expect.any(WindowsClipboardSource),
      session: expect.any(WindowsSessionSource),
    });
    expect(createPlatformSources({ platform: 'darwin', layout: 'uk' })).toEqual({
      platform: 'darwin',
      window: expect.any(GetWindowsSource),
      typing: expect.any(MacTypingSource),
      clipboard: expect.any(MacClipboardSource),
      session: expect.any(MacSessionSource),
    });
  });

  it('builds sources that stay stopped until started', () => {
    const { window, typing, clipboard, session } = createPlatformSources({ platform: 'win32' });
    for (const source of [window, typing, clipboard, session]) {
      expect(source.state).toBe('stopped');
      expect(source.error).toBeNull();
    }
  });

  it('says unsupported, with a code, on any other platform, and starting changes nothing', async () => {
    const sources = createPlatformSources({ platform: 'freebsd' });
    expect(sources.platform).toBe('unsupported');
    for (const source of [sources.window, sources.typing, sources.clipboard, sources.session]) {
      expect(source).toBeInstanceOf(UnsupportedSource);
      await source.start(() => {});
      expect(source.state).toBe('unsupported');
      expect(source.error).toMatchObject({
        code: 'SOURCE_PLATFORM_UNSUPPORTED',
        message: expect.stringContaining('freebsd'),
      });
      await source.stop();
      expect(source.state).toBe('unsupported');
    }
  });
});
