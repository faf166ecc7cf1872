/**
 * Sources built on cross-platform native libraries, used on Windows and macOS: the active
 * window from get-windows, and typing from uiohook-napi's global hook, with what differs by
 * platform behind a `TypingPlatform`. Neither loads its library before `start()`, and both
 * must be stopped with `stop()`. See README.md for what each platform can tell.
 */
export {
  GetWindowsSource,
  type ActiveWindowReader,
  type GetWindowsSourceOptions,
} from './get-windows-source.ts';
export {
  UiohookTypingSource,
  type KeyboardHook,
  type TypingPlatform,
  type TypingPreparation,
  type UiohookTypingSourceOptions,
} from './uiohook-typing-source.ts';
