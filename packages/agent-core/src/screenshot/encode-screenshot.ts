import { createHash } from 'node:crypto';

import type SharpModule from 'sharp';

import { MAX_SCREENSHOT_BYTES, MAX_SCREENSHOT_EDGE_PX } from '@lantern/protocol';

import { SourceError } from '../sources/errors.ts';
import type { RawScreenshot } from '../sources/source.ts';

export interface EncodeScreenshotOptions {
  /** Scale down (never up) to this width, keeping the aspect ratio: the policy's `maxWidthPx`. */
  readonly maxWidthPx: number;
  /** WebP quality to start at, 1–100: the policy's `quality`. */
  readonly quality: number;
  /** The most bytes the image may take; default, and at most, MAX_SCREENSHOT_BYTES. */
  readonly maxBytes?: number;
}

/** A screenshot ready for a `screenshot` frame and the capture's ScreenshotRef. */
export interface EncodedScreenshot {
  /** The WebP image; its length is ScreenshotRef's `bytes`. */
  readonly bytes: Uint8Array;
  /** SHA-256 of `bytes`, lower-case hex: the screenshot's content address. */
  readonly sha256: string;
  readonly mediaType: 'image/webp';
  readonly width: number;
  readonly height: number;
}

/** Quality falls by this much per try, down to MIN_QUALITY, before the size is cut. */
const QUALITY_STEP = 10;
const MIN_QUALITY = 20;
/** An image more than this many times over the limit skips the intermediate qualities. */
const FAR_OVER_FACTOR = 1.5;
/** Then each try scales the width by this factor, down to MIN_WIDTH_PX. */
const SHRINK_FACTOR = 0.75;
const MIN_WIDTH_PX = 160;

type Sharp = typeof SharpModule;
let loading: Promise<Sharp> | undefined;

/**
 * sharp (libvips), loaded on the first screenshot rather than with the agent: it adds about
 * 25 MB of resident memory, and a device may go days without a capture. Its operation cache
 * (up to 50 MB by default) is turned off: each screenshot is encoded once and never again.
 */
function loadSharp(): Promise<Sharp> {
  loading ??= import('sharp').then(
    ({ default: sharp }) => {
      sharp.cache(false);
      return sharp;
    },
    (error: unknown) => {
      // Not kept: the next screenshot tries again (and fails the same way if libvips is missing).
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/**
 * Scale a screenshot down to `maxWidthPx` and compress it to WebP at `quality`; when that is
 * over `maxBytes`, lower the quality in steps of 10 (to 20; straight to 20 when more than
 * 1.5 times over), then shrink the width by a quarter at a time, until it fits. The height is kept within MAX_SCREENSHOT_EDGE_PX.
 * Throws `SourceError` `SCREENSHOT_TOO_LARGE` if even 160 px wide at quality 20 does not fit.
 */
export async function encodeScreenshot(
  raw: RawScreenshot,
  options: EncodeScreenshotOptions,
): Promise<EncodedScreenshot> {
  const sharp = await loadSharp();
  const maxBytes = Math.min(options.maxBytes ?? MAX_SCREENSHOT_BYTES, MAX_SCREENSHOT_BYTES);
  const startQuality = Math.round(Math.min(100, Math.max(1, options.quality)));
  const qualities: number[] = [startQuality];
  for (let q = startQuality - QUALITY_STEP; q >= MIN_QUALITY; q -= QUALITY_STEP) qualities.push(q);
  const lowestQuality = qualities.at(-1) ?? startQuality;

  // The widest the image may be: the policy's width, no upscaling, and a height within the edge limit.
  const widthForMaxHeight = Math.floor((raw.width * MAX_SCREENSHOT_EDGE_PX) / raw.height);
  let width = Math.max(1, Math.min(raw.width, Math.round(options.maxWidthPx), widthForMaxHeight));

  let tried = 0;
  for (let attempt = 0; ; attempt++) {
    let ladder = attempt === 0 ? qualities : [lowestQuality];
    for (let quality = ladder[0]; quality !== undefined; quality = ladder[0]) {
      tried++;
      // Scaled and encoded in one libvips pipeline, per try: no scaled copy of the pixels
      // passes through JavaScript (where it would be garbage until the next collection), and
      // a try after the first, which is rare, only repeats a cheap resize.
      const { data, info } = await scaled(sharp, raw, width)
        .webp({ quality })
        .toBuffer({ resolveWithObject: true });
      if (data.byteLength <= maxBytes) {
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        return {
          bytes,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          mediaType: 'image/webp',
          width: info.width,
          height: info.height,
        };
      }
      // Far over: the small steps in between will not bring it under, so skip to the lowest.
      ladder =
        data.byteLength > FAR_OVER_FACTOR * maxBytes ? ladder.slice(1).slice(-1) : ladder.slice(1);
    }
    const next = Math.floor(width * SHRINK_FACTOR);
    if (next < MIN_WIDTH_PX) {
      throw new SourceError(
        'SCREENSHOT_TOO_LARGE',
        `The screenshot does not fit in ${maxBytes} bytes even at ${width} px wide and WebP quality ${lowestQuality} (${tried} tries); it is not sent.`,
      );
    }
    width = next;
  }
}

/** The pixels scaled to `width`, alpha dropped (a screen has none): a pipeline to encode. */
function scaled(sharp: Sharp, raw: RawScreenshot, width: number): ReturnType<Sharp> {
  let image = sharp(raw.pixels, {
    raw: { width: raw.width, height: raw.height, channels: raw.channels },
  });
  if (raw.channels === 4) image = image.removeAlpha();
  if (width < raw.width) image = image.resize({ width });
  return image;
}
