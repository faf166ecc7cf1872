/**
 * Text as the sources hand it on: cut to a limit without splitting a character, and
 * decoded from a tool's bytes only when they really are text.
 */

/** `text` cut to at most `maxChars` UTF-16 code units, never splitting a surrogate pair (an emoji) in half. */
export function cutText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const last = text.charCodeAt(maxChars - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Clipboard bytes as text, or null when they are not text: invalid UTF-8 or NUL bytes
 * (an owner that answers every target with the same binary data). When the read was cut
 * short, an incomplete character at the very end is dropped first.
 */
export function decodeClipboardText(bytes: Uint8Array, truncated: boolean): string | null {
  const whole = truncated ? bytes.subarray(0, completeUtf8Length(bytes)) : bytes;
  let text: string;
  try {
    text = utf8Strict.decode(whole);
  } catch {
    // Not UTF-8: binary content offered under a text target.
    return null;
  }
  return text.includes('\0') ? null : text;
}

/** The length of `bytes` without a UTF-8 sequence cut off at its end. */
function completeUtf8Length(bytes: Uint8Array): number {
  // Look back over at most 3 continuation bytes (10xxxxxx) to the sequence's lead byte.
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
