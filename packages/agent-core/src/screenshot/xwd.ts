/**
 * Decoding XWD ("X Window Dump", what `xwd` writes): a header of 25 big-endian 32-bit
 * fields, the window name, a colour table, then the pixels exactly as the X server holds
 * them. Only true-colour ZPixmap images are decoded — what every X server of the last 20
 * years gives at depth 15/16/24/32; palette (8-bit) displays are refused.
 */
import { SourceError } from '../sources/errors.ts';
import type { RawScreenshot } from '../sources/source.ts';

const HEADER_FIELDS = 25;
const HEADER_BYTES = HEADER_FIELDS * 4;
const XWD_FILE_VERSION = 7;
const Z_PIXMAP = 2;
const TRUE_COLOR = 4;
const DIRECT_COLOR = 5;
const LSB_FIRST = 0;
const COLOR_ENTRY_BYTES = 12;

/** The XWD header fields the decoder reads. */
export interface XwdHeader {
  readonly headerSize: number;
  readonly fileVersion: number;
  readonly pixmapFormat: number;
  readonly depth: number;
  readonly width: number;
  readonly height: number;
  readonly byteOrder: number;
  readonly bitsPerPixel: number;
  readonly bytesPerLine: number;
  readonly visualClass: number;
  readonly redMask: number;
  readonly greenMask: number;
  readonly blueMask: number;
  readonly colorCount: number;
}

function unsupported(message: string): SourceError {
  return new SourceError('SCREENSHOT_FORMAT_UNSUPPORTED', message);
}

export function readXwdHeader(data: Uint8Array): XwdHeader {
  if (data.byteLength < HEADER_BYTES) {
    throw unsupported(
      `The screen dump is ${data.byteLength} bytes, shorter than an XWD header: xwd did not finish.`,
    );
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const field = (index: number): number => view.getUint32(index * 4, false);
  return {
    headerSize: field(0),
    fileVersion: field(1),
    pixmapFormat: field(2),
    depth: field(3),
    width: field(4),
    height: field(5),
    byteOrder: field(7),
    bitsPerPixel: field(11),
    bytesPerLine: field(12),
    visualClass: field(13),
    redMask: field(14),
    greenMask: field(15),
    blueMask: field(16),
    colorCount: field(19),
  };
}

/** A colour mask → how to take that channel out of a pixel value and scale it to 0–255. */
function channel(mask: number): { shift: number; max: number } {
  if (mask === 0) throw unsupported('The X visual has an empty colour mask.');
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/** Decode an XWD dump of a true-colour screen into RGB pixels. Throws SCREENSHOT_FORMAT_UNSUPPORTED otherwise. */
export function decodeXwd(data: Uint8Array): RawScreenshot {
  const header = readXwdHeader(data);
  const { width, height, bitsPerPixel, bytesPerLine } = header;
  if (header.fileVersion !== XWD_FILE_VERSION || header.headerSize < HEADER_BYTES) {
    throw unsupported(`The screen dump is not XWD version 7 (version ${header.fileVersion}).`);
  }
  if (header.pixmapFormat !== Z_PIXMAP) {
    throw unsupported(
      `The screen dump is in pixmap format ${header.pixmapFormat}; only ZPixmap (2) is decoded.`,
    );
  }
  if (header.visualClass !== TRUE_COLOR && header.visualClass !== DIRECT_COLOR) {
    throw unsupported(
      `The X screen uses visual class ${header.visualClass} (a palette display); only true colour is decoded. Run the session at depth 24.`,
    );
  }
  if (bitsPerPixel !== 16 && bitsPerPixel !== 24 && bitsPerPixel !== 32) {
    throw unsupported(
      `The X screen has ${bitsPerPixel} bits per pixel; 16, 24 and 32 are decoded.`,
    );
  }
  const bytesPerPixel = bitsPerPixel / 8;
  if (width === 0 || height === 0 || bytesPerLine < width * bytesPerPixel) {
    throw unsupported(
      `The screen dump has an impossible size (${width}×${height}, ${bytesPerLine} bytes a line).`,
    );
  }
  const pixelStart = header.headerSize + header.colorCount * COLOR_ENTRY_BYTES;
  const pixelEnd = pixelStart + bytesPerLine * height;
  if (data.byteLength < pixelEnd) {
    throw unsupported(
      `The screen dump holds ${data.byteLength} bytes; ${pixelEnd} are needed for ${width}×${height}: xwd did not finish.`,
    );
  }

  const src = data.subarray(pixelStart, pixelEnd);
  const out = new Uint8Array(width * height * 3);
  const lsbFirst = header.byteOrder === LSB_FIRST;
  const { redMask, greenMask, blueMask } = header;

  // The common case (depth 24 in 32-bit pixels, little-endian, 8 bits a channel): copy bytes.
  if (
    bitsPerPixel === 32 &&
    lsbFirst &&
    redMask === 0xff0000 &&
    greenMask === 0x00ff00 &&
    blueMask === 0x0000ff
  ) {
    for (let y = 0; y < height; y++) {
      let i = y * bytesPerLine;
      let o = y * width * 3;
      for (let x = 0; x < width; x++, i += 4, o += 3) {
        out[o] = src[i + 2] ?? 0;
        out[o + 1] = src[i + 1] ?? 0;
        out[o + 2] = src[i] ?? 0;
      }
    }
    return { width, height, pixels: out, channels: 3 };
  }

  const red = channel(redMask);
  const green = channel(greenMask);
  const blue = channel(blueMask);
  const scale = (value: number, c: { shift: number; max: number }): number =>
    Math.round((((value >>> c.shift) & c.max) * 255) / c.max);
  for (let y = 0; y < height; y++) {
    let i = y * bytesPerLine;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, i += bytesPerPixel, o += 3) {
      let value = 0;
      for (let b = 0; b < bytesPerPixel; b++) {
        const byte = src[i + (lsbFirst ? bytesPerPixel - 1 - b : b)] ?? 0;
        value = value * 256 + byte;
      }
      out[o] = scale(value, red);
      out[o + 1] = scale(value, green);
      out[o + 2] = scale(value, blue);
    }
  }
  return { width, height, pixels: out, channels: 3 };
}
