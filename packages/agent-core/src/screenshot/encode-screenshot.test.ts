import { createHash, randomBytes } from 'node:crypto';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { MAX_SCREENSHOT_BYTES, MAX_SCREENSHOT_EDGE_PX } from '@lantern/protocol';

import type { RawScreenshot } from '../sources/source.ts';
import { encodeScreenshot } from './encode-screenshot.ts';

/** A synthetic screen: smooth gradients (compress well) or noise (does not compress at all). */
function makeScreen(width: number, height: number, kind: 'gradient' | 'noise'): RawScreenshot {
  if (kind === 'noise')
    return { width, height, channels: 3, pixels: randomBytes(width * height * 3) };
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 255) / width;
      pixels[i + 1] = (y * 255) / height;
      pixels[i + 2] = 128;
    }
  }
  return { width, height, channels: 3, pixels };
}

describe('encodeScreenshot', { timeout: 30_000 }, () => {
  it('scales down to maxWidthPx keeping the aspect ratio, as WebP with its SHA-256', async () => {
    const encoded = await encodeScreenshot(makeScreen(1280, 800, 'gradient'), {
      maxWidthPx: 640,
      quality: 70,
    });
    expect(encoded).toMatchObject({ width: 640, height: 400, mediaType: 'image/webp' });
    expect(encoded.sha256).toBe(createHash('sha256').update(encoded.bytes).digest('hex'));
    const meta = await sharp(encoded.bytes).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 640, height: 400 });
  });

  it('never scales up, and drops an alpha channel', async () => {
    const screen = makeScreen(300, 200, 'gradient');
    const rgba: RawScreenshot = {
      width: 300,
      height: 200,
      channels: 4,
      pixels: Uint8Array.from({ length: 300 * 200 * 4 }, (_, i) =>
        i % 4 === 3 ? 255 : (screen.pixels[i - Math.floor(i / 4)] ?? 0),
      ),
    };
    const encoded = await encodeScreenshot(rgba, { maxWidthPx: 1280, quality: 70 });
    expect(encoded).toMatchObject({ width: 300, height: 200 });
    expect((await sharp(encoded.bytes).metadata()).hasAlpha).toBe(false);
  });

  it('lowers the quality, then the size, until the image fits maxBytes', async () => {
    const noise = makeScreen(1280, 800, 'noise');
    const capped = await encodeScreenshot(noise, { maxWidthPx: 1280, quality: 90 });
    expect(capped.bytes.byteLength).toBeLessThanOrEqual(MAX_SCREENSHOT_BYTES);

    const small = await encodeScreenshot(noise, {
      maxWidthPx: 1280,
      quality: 90,
      maxBytes: 40_000,
    });
    expect(small.bytes.byteLength).toBeLessThanOrEqual(40_000);
    expect(small.width).toBeLessThan(1280);
    expect(Math.abs(small.height - (small.width * 800) / 1280)).toBeLessThanOrEqual(1);
  });

  it('never allows more than MAX_SCREENSHOT_BYTES, whatever maxBytes says', async () => {
    const encoded = await encodeScreenshot(makeScreen(1280, 800, 'noise'), {
      maxWidthPx: 1280,
      quality: 100,
      maxBytes: 10 * MAX_SCREENSHOT_BYTES,
    });
    expect(encoded.bytes.byteLength).toBeLessThanOrEqual(MAX_SCREENSHOT_BYTES);
  });

  it(`keeps the height within ${MAX_SCREENSHOT_EDGE_PX} px`, async () => {
    const tall = makeScreen(40, 20_000, 'gradient');
    const encoded = await encodeScreenshot(tall, { maxWidthPx: 1280, quality: 70 });
    expect(encoded.height).toBeLessThanOrEqual(MAX_SCREENSHOT_EDGE_PX);
  });

  it('throws SCREENSHOT_TOO_LARGE when nothing fits', async () => {
    // No WebP is 20 bytes: its RIFF and VP8 headers alone are longer.
    await expect(
      encodeScreenshot(makeScreen(1280, 800, 'noise'), {
        maxWidthPx: 1280,
        quality: 70,
        maxBytes: 20,
      }),
    ).rejects.toMatchObject({ code: 'SCREENSHOT_TOO_LARGE' });
  });
});
