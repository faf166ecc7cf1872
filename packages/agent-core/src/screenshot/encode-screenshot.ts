import { createHash } from 'node:crypto';

import sharp from 'sharp';

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
    const scaled = await scaleTo(raw, width);
    let ladder = attempt === 0 ? qualities : [lowestQuality];
    for (let quality = ladder[0]; quality !== undefined; quality = ladder[0]) {
      tried++;
      const { data, info } = await sharp(scaled.data, { raw: scaled.info })
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

/** The pixels scaled to `width` (RGB, alpha dropped: a screen has none), as raw bytes for the encoder. */
async function scaleTo(
  raw: RawScreenshot,
  width: number,
): Promise<{ data: Buffer; info: { width: number; height: number; channels: 3 } }> {
  let image = sharp(raw.pixels, {
    raw: { width: raw.width, height: raw.height, channels: raw.channels },
  });
  if (raw.channels === 4) image = image.removeAlpha();
  if (width < raw.width) image = image.resize({ width });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, info: { width: info.width, height: info.height, channels: 3 } };
}
