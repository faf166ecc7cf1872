import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { z } from 'zod';

import { WireError } from '../errors.ts';

/*
 * Keyset pagination, for every list the API gives (STYLE.md §7): a page ends with the sort
 * key of its last row, handed to the client as an opaque cursor (base64url JSON), and the
 * next page is the rows after that key, never OFFSET. A list checks a cursor's key with a
 * zod tuple and answers 400 for one it did not make; a key starting with the list's name
 * keeps a cursor of another list with keys of the same shape from passing as a position.
 * Each list's `limit`, `cursor` and page sizes are in its query schema in
 * @lantern/protocol (`pageQueryShape`).
 */

/** The sort key of a row, as a cursor holds it. */
export type CursorKey = readonly (string | number)[];

export const encodeCursor = (key: CursorKey): string =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

export const badCursor = (): WireError =>
  new WireError(
    'REQUEST_INVALID',
    400,
    'The cursor is not one this list made: start again from the first page.',
  );

/**
 * The sort key in `cursor`, as `schema` says this list's keys are.
 * @throws WireError 400 `REQUEST_INVALID` for a cursor this list did not make.
 */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // Not JSON: answered below as any other cursor this list did not make.
  }
  const parsed = schema.safeParse(key);
  if (!parsed.success) throw badCursor();
  return parsed.data;
}

/**
 * A timestamp in a cursor: the exact stored time (`exactTime`), and a real one, so a forged
 * cursor is a 400 rather than a database error.
 */
export const CursorTimeSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
  .refine((text) => {
    const ms = Date.parse(text);
    // Date.parse rolls 30 February over to March: the round trip catches it. PostgreSQL
    // has no year 0.
    return (
      Number.isFinite(ms) &&
      !text.startsWith('0000') &&
      new Date(ms).toISOString().slice(0, 19) === text.slice(0, 19)
    );
  });

/** Text in a cursor: at most `maxChars`, and storable (PostgreSQL text holds no NUL). */
export const cursorTextSchema = (maxChars: number) =>
  z
    .string()
    .max(maxChars)
    .refine((text) => !text.includes('\u0000'));

/**
 * A timestamp column as its exact stored text (UTC, microseconds) for a cursor: a JS Date
 * keeps only milliseconds, so a page boundary on it would skip or repeat rows.
 */
export const exactTime = (column: AnyColumn): SQL<string> =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * A page from `rows` fetched with `limit + 1`: the extra row only says a next page exists,
 * and the cursor is the key of the page's last row.
 */
export function toPage<Row>(
  rows: readonly Row[],
  limit: number,
  keyOf: (row: Row) => CursorKey,
): { rows: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page,
    nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null,
  };
}
