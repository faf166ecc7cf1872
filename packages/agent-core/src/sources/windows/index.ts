/**
 * The agent's sources on Windows, besides the active window (`GetWindowsSource`, in
 * ../native): typing (uiohook's low-level keyboard hook, with the layout from the registry),
 * the clipboard (a long-lived PowerShell helper) and the session (quser and tasklist). Each
 * is started with `start(onEvent)` and must be stopped with `stop()`. See README.md for what
 * Windows can and cannot tell.
 */
export {
  PowerShellClipboardReader,
  WindowsClipboardSource,
  type PowerShellClipboardReaderOptions,
  type WindowsClipboardSourceOptions,
} from './powershell-clipboard-reader.ts';
export {
  WindowsSessionSource,
  type WindowsLockDetection,
  type WindowsSessionSourceOptions,
} from './windows-session-source.ts';
export {
  WindowsTypingSource,
  windowsTypingPlatform,
  type WindowsTypingOptions,
} from './windows-typing.ts';
