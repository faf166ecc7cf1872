import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrorBodySchema, UserListResponseSchema, type UserSummary } from '@lantern/protocol';

import { buildApp } from '../../app.ts';
import { encodeCursor } from '../../db/keyset.ts';
import {
  DATABASE_KINDS,
  makeTestConfig,
  type TestCollectorConfig,
} from '../../test-helpers/databases.ts';
import { addStaff, sessionFor, type StaffClient } from '../../test-helpers/staff.ts';
import { organisations } from '../organisations/organisation.table.ts';
import { createSite } from '../organisations/site.repository.ts';

describe.each(DATABASE_KINDS)('the user list on %s', (kind) => {
  let setup: TestCollectorConfig;
  let app: FastifyInstance;
  let admin: StaffClient;
  let siteId: string;
  /** The organisation's accounts, by email. */
  const emails: string[] = [];

  beforeAll(async () => {
    setup = await makeTestConfig(kind);
    app = await buildApp(setup.config);
    const site = await createSite(app.database.db, { name: 'Example Academy' });
    siteId = site.siteId;
    const { organisationId } = site;
    admin = await sessionFor(
      app,
      await addStaff(app, {
        organisationId,
        email: 'admin@trust.example',
        roles: [{ role: 'org_admin', siteId: null }],
      }),
    );
    emails.push('admin@trust.example');
    // Made out of order, two roles each for some, so a page's roles are its users' own.
    for (const number of [7, 3, 11, 1, 9, 5, 2, 10, 4, 8, 6]) {
      const email = `staff${String(number).padStart(2, '0')}@trust.example`;
      await addStaff(app, {
        organisationId,
        email,
        roles:
          number % 2 === 0
            ? [
                { role: 'dsl', siteId },
                { role: 'technician', siteId },
              ]
            : [{ role: 'technician', siteId }],
      });
      emails.push(email);
    }
    emails.sort();
    // Another organisation's accounts are never in this one's list.
    const [elsewhere] = await app.database.db
      .insert(organisations)
      .values({ name: 'Elsewhere Trust' })
      .returning({ id: organisations.id });
    const other = await createSite(app.database.db, {
      name: 'Elsewhere School',
      organisationId: elsewhere?.id ?? '',
    });
    await addStaff(app, {
      organisationId: other.organisationId,
      email: 'staff00@elsewhere.example',
      roles: [{ role: 'dsl', siteId: other.siteId }],
    });
  });

  afterAll(async () => {
    await app.close();
    await setup.cleanup();
  });

  async function allPages(limit: number): Promise<{ sizes: number[]; items: UserSummary[] }> {
    const sizes: number[] = [];
    const items: UserSummary[] = [];
    let cursor: string | null = null;
    do {
      const response = await admin.request(
        'GET',
        `/api/users?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(response.statusCode, response.body).toBe(200);
      const page = UserListResponseSchema.parse(response.json());
      sizes.push(page.items.length);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return { sizes, items };
  }

  it('pages the organisation’s accounts by email, each once, with its own roles', async () => {
    for (const limit of [1, 5, 12, 13]) {
      const { sizes, items } = await allPages(limit);
      expect(items.map(({ email }) => email)).toEqual(emails);
      expect(sizes).toHaveLength(Math.ceil(emails.length / limit));
      expect(sizes.slice(0, -1).every((size) => size === limit)).toBe(true);
      expect(items.find(({ email }) => email === 'staff04@trust.example')?.roles).toEqual(
        expect.arrayContaining([
          { role: 'dsl', siteId },
          { role: 'technician', siteId },
        ]),
      );
      expect(items.find(({ email }) => email === 'staff05@trust.example')?.roles).toEqual([
        { role: 'technician', siteId },
      ]);
    }
  });

  it('gives 50 accounts a page unless asked, and at most 200', async () => {
    const page = UserListResponseSchema.parse((await admin.request('GET', '/api/users')).json());
    expect(page.items).toHaveLength(emails.length);
    expect(page.nextCursor).toBeNull();
    const tooMany = await admin.request('GET', '/api/users?limit=201');
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json()).toMatchObject({ code: 'REQUEST_INVALID' });
  });

  it('answers a cursor the list did not make with a clear 400', async () => {
    for (const cursor of [
      'bm90LWEtY3Vyc29y',
      encodeCursor(['device', 'staff01@trust.example']),
      encodeCursor(['user', 42]),
    ]) {
      const response = await admin.request('GET', `/api/users?cursor=${cursor}`);
      expect(response.statusCode, cursor).toBe(400);
      expect(ErrorBodySchema.parse(response.json())).toEqual({
        code: 'REQUEST_INVALID',
        message: 'The cursor is not one this list made: start again from the first page.',
      });
    }
  });
});
