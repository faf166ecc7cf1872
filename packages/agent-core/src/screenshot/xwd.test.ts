import { describe, expect, it } from 'vitest';

import { decodeXwd } from './xwd.ts';

/** A synthetic XWD dump: the 25 header fields, a window name, no colours, then pixel rows. */
function makeXwd(fields: Partial<Record<string, number>>, pixels: readonly number[]): Buffer {
  const name = Buffer.from('root\0');
  const f = {
    headerSize: 100 + name.length,
    version: 7,
    format: 2,
    depth: 24,
    width: 2,
    height: 1,
    byteOrder: 1,
    bitsPerPixel: 32,
    bytesPerLine: 8,
    visualClass: 4,
    redMask: 0xff0000,
    greenMask: 0x00ff00,
    blueMask: 0x0000ff,
    ...fields,
  };
  const header = Buffer.alloc(100);
  const values = [
    f.headerSize,
    f.version,
    f.format,
    f.depth,
    f.width,
    f.height,
    0,
    f.byteOrder,
    32,
    1,
    32,
    f.bitsPerPixel,
    f.bytesPerLine,
    f.visualClass,
    f.redMask,
    f.greenMask,
    f.blueMask,
    8,
    256,
    0,
    f.width,
    f.height,
    0,
    0,
    0,
  ];
  values.forEach((value, index) => header.writeUInt32BE(value ?? 0, index * 4));
  return Buffer.concat([header, name, Buffer.from(pixels)]);
}

describe('decodeXwd', () => {
  it('decodes big-endian 32-bit pixels, skipping row padding', () => {
    // Two pixels, 0x00RRGGBB, most significant byte first, then 4 bytes of padding.
    const dump = makeXwd({ width: 2, bytesPerLine: 12 }, [0, 1, 2, 3, 0, 4, 5, 6, 9, 9, 9, 9]);
    expect(decodeXwd(dump)).toEqual({
      width: 2,
      height: 1,
      channels: 3,
      pixels: Uint8Array.from([1, 2, 3, 4, 5, 6]),
    });
  });

  it('decodes 24-bit pixels with other masks (BGR order)', () => {
    const dump = makeXwd(
      {
        width: 1,
        bitsPerPixel: 24,
        bytesPerLine: 4,
        byteOrder: 0,
        redMask: 0xff,
        greenMask: 0xff00,
        blueMask: 0xff0000,
      },
      [0x11, 0x22, 0x33, 0],
    );
    expect(decodeXwd(dump).pixels).toEqual(Uint8Array.from([0x11, 0x22, 0x33]));
  });

  it('refuses a palette display, and a dump cut short', () => {
    expect(() => decodeXwd(makeXwd({ visualClass: 3 }, [0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(
      expect.objectContaining({ code: 'SCREENSHOT_FORMAT_UNSUPPORTED' }),
    );
    expect(() => decodeXwd(makeXwd({}, [0, 0, 0]))).toThrow(/did not finish/);
    expect(() => decodeXwd(Buffer.alloc(10))).toThrow(/shorter than an XWD header/);
  });
});
