import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MAX_SCREENSHOT_BYTES } from '@lantern/protocol';

import type { RawScreenshot } from '../sources/source.ts';
import { XServer } from '../test-helpers/x11.ts';
import { encodeScreenshot } from './encode-screenshot.ts';
import { X11ScreenGrabber } from './x11-screen-grabber.ts';

function pixelAt(shot: RawScreenshot, x: number, y: number): [number, number, number] {
  const i = (y * shot.width + x) * shot.channels;
  return [shot.pixels[i] ?? -1, shot.pixels[i + 1] ?? -1, shot.pixels[i + 2] ?? -1];
}

/** Where a window's contents are on screen, from xwininfo. */
async function windowRect(x: XServer, id: number) {
  const info = await x.check('xwininfo', ['-id', String(id)]);
  const field = (name: string): number =>
    Number(new RegExp(`${name}:\\s+(-?\\d+)`).exec(info)?.[1]);
  return {
    left: field('Absolute upper-left X'),
    top: field('Absolute upper-left Y'),
    width: field('Width'),
    height: field('Height'),
  };
}

describe('X11ScreenGrabber', { timeout: 30_000 }, () => {
  let x: XServer;

  beforeAll(async () => {
    x = await XServer.start({ screen: '1280x800x24' });
  }, 30_000);

  afterAll(async () => {
    await x?.close();
  });

  it('grabs the whole screen at its size, with the colours on it', async () => {
    // Orange root (R, G and B all different, so a swapped channel shows) and a blue window.
    await x.check('xsetroot', ['-solid', '#ff8020']);
    const window = await x.openWindow('grab-target', {
      background: '#2040c0',
      geometry: '300x200+400+300',
    });
    const rect = await windowRect(x, window.id);

    const grabber = new X11ScreenGrabber({ display: x.display });
    const shot = await grabber.grab();
    expect(grabber.state).toBe('running');
    expect(shot).toMatchObject({ width: 1280, height: 800, channels: 3 });
    expect(shot.pixels.length).toBe(1280 * 800 * 3);
    expect(pixelAt(shot, 1279, 799)).toEqual([0xff, 0x80, 0x20]);
    expect(pixelAt(shot, 0, 0)).toEqual([0xff, 0x80, 0x20]);

    // Nearly every pixel of the window's contents is its background colour.
    let blue = 0;
    for (let y = rect.top; y < rect.top + rect.height; y++) {
      for (let col = rect.left; col < rect.left + rect.width; col++) {
        const [r, g, b] = pixelAt(shot, col, y);
        if (r === 0x20 && g === 0x40 && b === 0xc0) blue++;
      }
    }
    expect(blue / (rect.width * rect.height)).toBeGreaterThan(0.95);
    await window.close();
  });

  it('encodes a grab under the screenshot size limit', async () => {
    const shot = await new X11ScreenGrabber({ display: x.display }).grab();
    const encoded = await encodeScreenshot(shot, { maxWidthPx: 1280, quality: 80 });
    expect(encoded.bytes.byteLength).toBeLessThanOrEqual(MAX_SCREENSHOT_BYTES);
    expect(encoded).toMatchObject({ width: 1280, height: 800, mediaType: 'image/webp' });
  });

  it('decodes a 16-bit screen', async () => {
    const x16 = await XServer.start({ screen: '640x480x16', windowManager: false });
    try {
      await x16.check('xsetroot', ['-solid', '#ff8020']);
      const shot = await new X11ScreenGrabber({ display: x16.display }).grab();
      expect(shot).toMatchObject({ width: 640, height: 480, channels: 3 });
      // 5-6-5 bits a channel: each comes back within a step of what was set.
      const [r, g, b] = pixelAt(shot, 320, 240);
      expect(Math.abs(r - 0xff)).toBeLessThanOrEqual(8);
      expect(Math.abs(g - 0x80)).toBeLessThanOrEqual(4);
      expect(Math.abs(b - 0x20)).toBeLessThanOrEqual(8);
    } finally {
      await x16.close();
    }
  });

  it('throws SCREENSHOT_GRAB_FAILED, and reports failed, when the X server cannot be reached', async () => {
    const grabber = new X11ScreenGrabber({ display: ':65000' });
    await expect(grabber.grab()).rejects.toMatchObject({ code: 'SCREENSHOT_GRAB_FAILED' });
    expect(grabber.state).toBe('failed');
  });
});
