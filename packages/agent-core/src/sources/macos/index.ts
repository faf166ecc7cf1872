/**
 * The agent's sources on macOS, besides the active window (`GetWindowsSource`, in
 * ../native): typing (uiohook's event tap, with the layout from HIToolbox), the clipboard
 * (pbpaste) and the session (ioreg). Each is started with `start(onEvent)` and must be
 * stopped with `stop()`. See README.md for the permissions they need and what macOS can and
 * cannot tell.
 */
export { MacSessionSource, type MacSessionSourceOptions } from './macos-session-source.ts';
export { MacTypingSource, macTypingPlatform, type MacTypingOptions } from './macos-typing.ts';
export {
  MacClipboardSource,
  PbpasteReader,
  type MacClipboardSourceOptions,
  type PbpasteReaderOptions,
} from './pbpaste-reader.ts';
