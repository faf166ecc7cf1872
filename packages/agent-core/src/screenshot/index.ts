/**
 * Screenshots: grabbing the screen (`X11ScreenGrabber` on Linux/X11) and compressing it
 * for the wire (`encodeScreenshot`: scaled, WebP, under MAX_SCREENSHOT_BYTES). Both throw
 * `SourceError` with a SCREENSHOT_* code.
 */
export {
  encodeScreenshot,
  type EncodedScreenshot,
  type EncodeScreenshotOptions,
} from './encode-screenshot.ts';
export { X11ScreenGrabber, type X11ScreenGrabberOptions } from './x11-screen-grabber.ts';
export { decodeXwd } from './xwd.ts';
