import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  CursorTimeSchema,
  cursorTextSchema,
  decodeCursor,
  encodeCursor,
  toPage,
} from './keyset.ts';

const ID = '0192f7a0-5b1c-7c3e-8a4b-123456789abc';
const KeySchema = z.tuple([z.literal('device'), cursorTextSchema(20), z.uuid()]);

describe('keyset cursors', () => {
  it('give back the key they were made from, as URL-safe text', () => {
    const cursor = encodeCursor(['device', 'LAB1-PC01 ✓', ID]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, KeySchema)).toEqual(['device', 'LAB1-PC01 ✓', ID]);
  });

  it.each([
    ['not base64 JSON', 'bm90LWEtY3Vyc29y'],
    ['another list’s key', encodeCursor(['user', 'a@school.example'])],
    ['a key of the wrong shape', encodeCursor(['device', 'LAB1-PC01'])],
    ['text longer than any key', encodeCursor(['device', 'x'.repeat(21), ID])],
    ['text PostgreSQL cannot hold', encodeCursor(['device', 'LAB1\u0000', ID])],
  ])('refuse %s with a 400 that says to start again', (_, cursor) => {
    expect(() => decodeCursor(cursor, KeySchema)).toThrow(
      expect.objectContaining({
        code: 'REQUEST_INVALID',
        statusCode: 400,
        message: 'The cursor is not one this list made: start again from the first page.',
      }),
    );
  });

  it('take only exact, real times, so a forged one is a 400 and not a database error', () => {
    expect(CursorTimeSchema.safeParse('2026-11-02T09:00:00.123456Z').success).toBe(true);
    for (const forged of [
      '2026-11-02T09:00:00.123Z',
      '2026-02-30T09:00:00.000000Z',
      '2026-13-01T09:00:00.000000Z',
      '0000-01-01T00:00:00.000000Z',
      'yesterday',
    ]) {
      expect(CursorTimeSchema.safeParse(forged).success, forged).toBe(false);
    }
  });
});

describe('a page from limit + 1 rows', () => {
  const keyOf = (row: number) => ['n', row];

  it('has a cursor at its last row when the extra row says more follow', () => {
    const page = toPage([1, 2, 3], 2, keyOf);
    expect(page.rows).toEqual([1, 2]);
    expect(decodeCursor(page.nextCursor ?? '', z.tuple([z.literal('n'), z.int()]))).toEqual([
      'n',
      2,
    ]);
  });

  it('has no cursor when it is the last', () => {
    expect(toPage([1, 2], 2, keyOf)).toEqual({ rows: [1, 2], nextCursor: null });
    expect(toPage([], 2, keyOf)).toEqual({ rows: [], nextCursor: null });
  });
});
