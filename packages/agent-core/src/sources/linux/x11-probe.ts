/**
 * Questions to the X server answered by the standard X tools (x11-utils, x11-xkb-utils,
 * x11-xserver-utils), so the agent needs no X client library of its own.
 */
import type { KeyboardLayout } from '../key-translator.ts';
import { runCommand, xToolEnv } from './run-command.ts';

const PROBE_TIMEOUT_MS = 5_000;
const PROBE_MAX_BYTES = 1024 * 1024;

/** Whether the X server offers an extension, or why that could not be found out. */
export type ExtensionCheck =
  | { readonly ok: true; readonly present: boolean }
  | { readonly ok: false; readonly reason: 'tool_missing' | 'no_display' };

/**
 * Ask the X server at `display` whether it has the extension `name` (e.g. `RECORD`), with
 * `xdpyinfo -queryExtensions` (x11-utils). `no_display` when the server cannot be reached.
 */
export async function checkXExtension(display: string, name: string): Promise<ExtensionCheck> {
  const result = await runCommand('xdpyinfo', ['-display', display, '-queryExtensions'], {
    timeoutMs: PROBE_TIMEOUT_MS,
    maxStdoutBytes: PROBE_MAX_BYTES,
    env: xToolEnv(display),
  });
  if (!result.ok) {
    return { ok: false, reason: result.reason === 'not_found' ? 'tool_missing' : 'no_display' };
  }
  // Each extension is listed on its own indented line: "    RECORD  (opcode: 146, …)".
  const lines = result.stdout.toString('utf8').split('\n');
  return { ok: true, present: lines.some((line) => line.trim().split(/\s+/)[0] === name) };
}

/**
 * The keyboard layout the X server uses, from `setxkbmap -query` (x11-xkb-utils): the first
 * layout of the list (the one in use unless the user switches group). `null` when it cannot
 * be read or is not one the translator knows.
 */
export async function detectKeyboardLayout(display: string): Promise<KeyboardLayout | null> {
  const result = await runCommand('setxkbmap', ['-display', display, '-query'], {
    timeoutMs: PROBE_TIMEOUT_MS,
    maxStdoutBytes: PROBE_MAX_BYTES,
    env: xToolEnv(display),
  });
  if (!result.ok) return null;
  return parseXkbLayout(result.stdout.toString('utf8'));
}

/** `setxkbmap -query` output → the layout the translator should use, or `null` if it has none for it. */
export function parseXkbLayout(query: string): KeyboardLayout | null {
  const field = (name: string): string =>
    new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(query)?.[1]?.trim() ?? '';
  const layout = field('layout').split(',')[0]?.trim();
  const variant = field('variant').split(',')[0]?.trim() ?? '';
  // Dvorak, Colemak and the like move the letters: the tables below would be wrong.
  if (/dvorak|colemak|workman/i.test(variant)) return null;
  if (layout === 'gb') return 'uk';
  if (layout === 'us') return 'us';
  return null;
}

/** Whether Caps Lock is on now, from `xset q` (x11-xserver-utils); `null` when it cannot be read. */
export async function readCapsLock(display: string): Promise<boolean | null> {
  const result = await runCommand('xset', ['-display', display, 'q'], {
    timeoutMs: PROBE_TIMEOUT_MS,
    maxStdoutBytes: PROBE_MAX_BYTES,
    env: xToolEnv(display),
  });
  if (!result.ok) return null;
  const match = /Caps Lock:\s+(on|off)/.exec(result.stdout.toString('utf8'));
  return match ? match[1] === 'on' : null;
}
