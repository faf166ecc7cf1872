/**
 * The agent's sources on Linux with an X11 session: the active window (xprop), typing
 * (uiohook-napi, which needs the X RECORD extension), the clipboard (xclip) and the
 * session (systemd-logind when present). Each is started with `start(onEvent)` and must be
 * stopped with `stop()`, which ends the child processes or the hook it holds. See README.md
 * for what X11 can and cannot tell.
 */
export {
  LinuxSessionSource,
  type LinuxSessionSourceOptions,
  type LockDetection,
} from './linux-session-source.ts';
export { X11ClipboardSource, type X11ClipboardSourceOptions } from './x11-clipboard-source.ts';
export { checkXExtension, type ExtensionCheck } from './x11-probe.ts';
export { X11TypingSource, type X11TypingSourceOptions } from './x11-typing-source.ts';
export { X11WindowSource, type X11WindowSourceOptions } from './x11-window-source.ts';
export { KeyTranslator, type KeyboardLayout, type KeyEvent } from '../key-translator.ts';
export { SourceError, type SourceErrorCode, type SourceFailure } from '../errors.ts';
