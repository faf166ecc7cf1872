import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { z } from 'zod';

import type { RoleGrant, UserListResponse } from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { cursorTextSchema, decodeCursor, toPage } from '../../db/keyset.ts';
import { WireError } from '../../errors.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { hashPassword } from '../auth/password.ts';
import { sites } from '../organisations/organisation.table.ts';
import { staffRoles, staffSessions, staffUsers } from './user.table.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Check grants belong to the organisation: org_admin with no site, every other role with one of its sites. */
async function checkGrants(
  tx: Tx,
  organisationId: string,
  grants: readonly RoleGrant[],
): Promise<void> {
  for (const grant of grants) {
    if ((grant.role === 'org_admin') !== (grant.siteId === null)) {
      throw new WireError(
        'REQUEST_INVALID',
        400,
        grant.role === 'org_admin'
          ? 'The org_admin role is held across the organisation: give it no siteId.'
          : `The ${grant.role} role is held at a site: give it a siteId.`,
      );
    }
  }
  const siteIds = [...new Set(grants.flatMap(({ siteId }) => (siteId ? [siteId] : [])))];
  if (siteIds.length === 0) return;
  const found = await tx
    .select({ id: sites.id })
    .from(sites)
    .where(and(inArray(sites.id, siteIds), eq(sites.organisationId, organisationId)));
  const missing = siteIds.filter((id) => !found.some((site) => site.id === id));
  if (missing.length > 0) {
    throw new WireError(
      'REQUEST_INVALID',
      400,
      `No site of this organisation has the id ${missing.join(', ')}.`,
    );
  }
}

async function writeGrants(tx: Tx, userId: string, grants: readonly RoleGrant[]): Promise<void> {
  await tx.delete(staffRoles).where(eq(staffRoles.userId, userId));
  const unique = [
    ...new Map(grants.map((grant) => [`${grant.role}/${grant.siteId}`, grant])).values(),
  ];
  if (unique.length > 0)
    await tx
      .insert(staffRoles)
      .values(unique.map(({ role, siteId }) => ({ userId, role, siteId })));
}

/** Make a staff account with its roles. @returns its id. */
export async function createUser(
  db: Db,
  input: {
    organisationId: string;
    email: string;
    displayName: string;
    password: string;
    roles: readonly RoleGrant[];
    createdBy: string | null;
  },
): Promise<string> {
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    await checkGrants(tx, input.organisationId, input.roles);
    const [existing] = await tx
      .select({ id: staffUsers.id })
      .from(staffUsers)
      .where(eq(staffUsers.email, input.email.toLowerCase()));
    if (existing) {
      throw new WireError('CONFLICT', 409, `There is already an account for ${input.email}.`);
    }
    const [user] = await tx
      .insert(staffUsers)
      .values({
        organisationId: input.organisationId,
        email: input.email.toLowerCase(),
        displayName: input.displayName,
        passwordHash,
      })
      .returning({ id: staffUsers.id });
    if (!user) throw new Error('user insert returned nothing');
    await writeGrants(tx, user.id, input.roles);
    await appendAudit(tx, {
      siteId: null,
      actorKind: input.createdBy ? 'user' : 'system',
      actorId: input.createdBy,
      action: 'user.created',
      targetType: 'staff_user',
      targetId: user.id,
      details: { roles: input.roles.map(({ role, siteId }) => ({ role, siteId })) },
    });
    return user.id;
  });
}

/** Replace a user's roles. Their sessions end, so the new roles apply at the next sign-in. */
export async function setRoles(
  db: Db,
  organisationId: string,
  userId: string,
  roles: readonly RoleGrant[],
  changedBy: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [user] = await tx
      .select({ id: staffUsers.id })
      .from(staffUsers)
      .where(and(eq(staffUsers.id, userId), eq(staffUsers.organisationId, organisationId)));
    if (!user) throw new WireError('NOT_FOUND', 404, `There is no user ${userId}.`);
    await checkGrants(tx, organisationId, roles);
    const before = await tx
      .select({ role: staffRoles.role, siteId: staffRoles.siteId })
      .from(staffRoles)
      .where(eq(staffRoles.userId, userId));
    await writeGrants(tx, userId, roles);
    await tx.delete(staffSessions).where(eq(staffSessions.userId, userId));
    await appendAudit(tx, {
      siteId: null,
      actorKind: 'user',
      actorId: changedBy,
      action: 'user.roles_changed',
      targetType: 'staff_user',
      targetId: userId,
      details: { before, after: roles.map(({ role, siteId }) => ({ role, siteId })) },
    });
  });
}

// A cursor holds the last row's sort key (db/keyset.ts), the email (unique across Lantern),
// after the list's name: a cursor of another list is refused.
const UserCursorSchema = z.tuple([z.literal('user'), cursorTextSchema(1000)]);

/**
 * A page of an organisation's accounts by email, with their roles, by keyset on the email
 * (unique), which `staff_users_organisation_email_idx` serves.
 */
export async function listUsers(
  db: Db,
  organisationId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<UserListResponse> {
  const after = query.cursor ? decodeCursor(query.cursor, UserCursorSchema) : undefined;
  const rows = await db
    .select({
      id: staffUsers.id,
      email: staffUsers.email,
      displayName: staffUsers.displayName,
      totpSecret: staffUsers.totpSecret,
      lockedUntil: staffUsers.lockedUntil,
      disabledAt: staffUsers.disabledAt,
    })
    .from(staffUsers)
    .where(
      and(eq(staffUsers.organisationId, organisationId), after && gt(staffUsers.email, after[1])),
    )
    .orderBy(asc(staffUsers.email))
    .limit(query.limit + 1);
  const page = toPage(rows, query.limit, (row) => ['user', row.email]);
  const roles =
    page.rows.length === 0
      ? []
      : await db
          .select()
          .from(staffRoles)
          .where(
            inArray(
              staffRoles.userId,
              page.rows.map(({ id }) => id),
            ),
          );
  return {
    items: page.rows.map((user) => ({
      id: user.id,
      email: user.email,
      displayName: user.displayName,
      roles: roles
        .filter((role) => role.userId === user.id)
        .map(({ role, siteId }) => ({ role, siteId })),
      mfaEnabled: user.totpSecret !== null,
      lockedUntil: user.lockedUntil?.toISOString() ?? null,
      disabledAt: user.disabledAt?.toISOString() ?? null,
    })),
    nextCursor: page.nextCursor,
  };
}
