/**
 * Size limits of the protocol. They are part of the contract: the schemas enforce them, so
 * an oversize frame or field is rejected with a clear error rather than buffered.
 */

/** The protocol version this package speaks. Bump on any breaking change to a frame. */
export const PROTOCOL_VERSION = 1 as const;

/** The largest WebSocket frame either side accepts, in bytes of UTF-8 JSON. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * The most login digests a policy's `groupMembers` may hold, counted over all its groups:
 * 19 bytes each in JSON, about 620 KB, so a policy with approved lessons for a large
 * school's year groups still fits in one frame with room for the rest of the policy.
 */
export const MAX_GROUP_MEMBERS = 32_768;

/** The most captures one `capture` frame may carry. Chosen so a worst-case batch fits in one frame. */
export const MAX_CAPTURE_BATCH = 32;

/** The most matches one capture may carry; the agent keeps the most severe when there are more. */
export const MAX_MATCHES_PER_CAPTURE = 32;

/**
 * The context around a match, in UTF-16 code units (JavaScript string length): the
 * sentence around the match, cut to this size around the match. Enough for a DSL to judge,
 * small enough that whole documents or keystroke streams never leave the device.
 */
export const CONTEXT_MAX_CHARS = 500;

/** The longest window title kept, in UTF-16 code units; the agent cuts longer titles. */
export const WINDOW_TITLE_MAX_CHARS = 1024;

/** The largest screenshot, in bytes after compression. */
export const MAX_SCREENSHOT_BYTES = 512 * 1024;

/** The largest edge of a screenshot, in pixels. */
export const MAX_SCREENSHOT_EDGE_PX = 8192;

/** The longest human-readable message in an error frame. */
export const ERROR_MESSAGE_MAX_CHARS = 2000;
