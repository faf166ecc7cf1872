/**
 * Reading `xprop` output. Properties are asked for in hex bytes (`-f NAME 8x`), so titles
 * come back as exact bytes whatever their quotes, escapes, newlines or encoding, instead of
 * xprop's locale-dependent quoting.
 */
import type { ChildProcess } from 'node:child_process';

/** One property from one xprop line. */
export type XProperty =
  | { readonly name: string; readonly present: false }
  | {
      readonly name: string;
      readonly present: true;
      readonly type: string;
      readonly value: string;
    };

/**
 * Parse a line of `xprop` output: `NAME(TYPE) = value`, or `NAME:  not found.` (also
 * `no such atom on any window.`) for a property the window does not have. `null` for a line
 * that is neither.
 */
export function parsePropertyLine(line: string): XProperty | null {
  const set = /^([A-Za-z0-9_]+)\(([A-Za-z0-9_]+)\)(?::| =) ?(.*)$/.exec(line);
  if (set) return { name: set[1] ?? '', present: true, type: set[2] ?? '', value: set[3] ?? '' };
  const absent = /^([A-Za-z0-9_]+):\s+(?:not found|no such atom)/.exec(line);
  if (absent) return { name: absent[1] ?? '', present: false };
  return null;
}

/** `0x68, 0x22, 0xc3` (format `8x`) → bytes. Empty for an empty property. */
export function parseHexBytes(value: string): Uint8Array {
  const parts = value.split(',').map((part) => part.trim());
  const bytes = parts.filter((part) => part !== '').map((part) => Number.parseInt(part, 16));
  return Uint8Array.from(bytes.filter((byte) => Number.isInteger(byte) && byte >= 0 && byte < 256));
}

/** The window id in `window id # 0xa0002a` (xprop's WINDOW format), lower-case hex; `null` for `0x0` or none. */
export function parseWindowId(value: string): string | null {
  const match = /0x([0-9a-fA-F]+)/.exec(value);
  if (!match?.[1]) return null;
  const id = Number.parseInt(match[1], 16);
  return id === 0 ? null : `0x${id.toString(16)}`;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

/** `_NET_WM_NAME` is UTF-8 by specification (whatever type the client gave it). */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8Lenient.decode(bytes);
}

/**
 * `WM_NAME` is Latin-1 (`STRING`) by ICCCM, but many clients (xdotool among them) put UTF-8
 * in it: bytes that are valid UTF-8 are read as UTF-8 (Latin-1 text almost never is), the
 * rest as Latin-1. `COMPOUND_TEXT` titles are rare and read the same way (their escape
 * sequences may show); clients that use it also set `_NET_WM_NAME`, which is preferred.
 */
export function decodeLegacyText(bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    // Not UTF-8: the ICCCM encoding, Latin-1, is the right reading.
    return latin1.decode(bytes);
  }
}

/** Stop a child process we started and wait until it has exited (SIGKILL if it lingers). Never rejects. */
export async function terminate(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
