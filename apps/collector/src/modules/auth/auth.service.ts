import { randomBytes, timingSafeEqual } from 'node:crypto';

import { and, eq, gt, ne, sql } from 'drizzle-orm';
import { Secret, TOTP } from 'otpauth';

import type { LoginRequest, StaffRole } from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { WireError } from '../../errors.ts';
import { appendAudit, type Queryable } from '../audit/audit.repository.ts';
import { hashSecret } from '../devices/enrolment.service.ts';
import { sites } from '../organisations/organisation.table.ts';
import { staffRoles, staffSessions, staffUsers } from '../users/user.table.ts';
import { hashPassword, verifyAgainstNobody, verifyPassword } from './password.ts';
import { MFA_ROLES } from './permissions.ts';
import { seal, unseal } from './secret-box.ts';

/** Failed sign-ins in a row that lock an account, and for how long. */
export const LOCKOUT_FAILURES = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;
/** A session ends after this long unused, and after SESSION_MAX_MS however used. */
export const SESSION_IDLE_MS = 2 * 60 * 60 * 1000;
export const SESSION_MAX_MS = 12 * 60 * 60 * 1000;
/** Sliding the idle expiry is written at most this often. */
const TOUCH_EVERY_MS = 60 * 1000;
const TOTP_PERIOD_S = 30;

export type MfaState = 'verified' | 'not_required' | 'setup_required';

export interface RoleHeld {
  readonly role: StaffRole;
  readonly siteId: string | null;
  readonly siteName: string | null;
}

/** The signed-in member of staff behind a request. */
export interface StaffPrincipal {
  readonly sessionId: string;
  readonly userId: string;
  readonly organisationId: string;
  readonly email: string;
  readonly displayName: string;
  readonly mfa: MfaState;
  readonly csrfToken: string;
  readonly expiresAt: Date;
  readonly roles: readonly RoleHeld[];
  /** Roles per site; an org_admin's role counts at every site of the organisation. */
  readonly siteRoles: ReadonlyMap<string, ReadonlySet<StaffRole>>;
}

const newToken = () => randomBytes(32).toString('base64url');

/** Compare secrets in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function rolesOf(db: Db, userId: string): Promise<RoleHeld[]> {
  return db
    .select({ role: staffRoles.role, siteId: staffRoles.siteId, siteName: sites.name })
    .from(staffRoles)
    .leftJoin(sites, eq(sites.id, staffRoles.siteId))
    .where(eq(staffRoles.userId, userId));
}

async function siteRolesOf(
  db: Db,
  organisationId: string,
  roles: readonly RoleHeld[],
): Promise<Map<string, Set<StaffRole>>> {
  const bySite = new Map<string, Set<StaffRole>>();
  const grant = (siteId: string, role: StaffRole) => {
    const held = bySite.get(siteId) ?? new Set<StaffRole>();
    held.add(role);
    bySite.set(siteId, held);
  };
  for (const { role, siteId } of roles) if (siteId) grant(siteId, role);
  if (roles.some(({ role }) => role === 'org_admin')) {
    const all = await db
      .select({ id: sites.id })
      .from(sites)
      .where(eq(sites.organisationId, organisationId));
    for (const { id } of all) grant(id, 'org_admin');
  }
  return bySite;
}

function totpFor(email: string, secret: string): TOTP {
  return new TOTP({
    issuer: 'Lantern',
    label: email,
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD_S,
    secret: Secret.fromBase32(secret),
  });
}

/** The time step a code is valid for, or undefined: ±1 step for clock drift. */
function acceptedStep(secret: string, email: string, code: string, now: Date): number | undefined {
  const delta = totpFor(email, secret).validate({
    token: code,
    timestamp: now.getTime(),
    window: 1,
  });
  return delta === null ? undefined : Math.floor(now.getTime() / 1000 / TOTP_PERIOD_S) + delta;
}

/** Something a user did to their own account, in the audit log. */
function auditAccount(
  tx: Queryable,
  userId: string,
  action: string,
  details?: Record<string, unknown> | null,
): Promise<void> {
  return appendAudit(tx, {
    siteId: null,
    actorKind: 'user',
    actorId: userId,
    action,
    targetType: 'staff_user',
    targetId: userId,
    details: details ?? null,
  });
}

/** End every session of the user but the one in use. */
async function endOtherSessions(
  tx: Pick<Db, 'delete'>,
  userId: string,
  keep: string,
): Promise<void> {
  await tx
    .delete(staffSessions)
    .where(and(eq(staffSessions.userId, userId), ne(staffSessions.id, keep)));
}

const SIGN_IN_FAILED = () =>
  new WireError(
    'SIGN_IN_FAILED',
    401,
    'That email address and password do not match an account. Check them and try again.',
  );

/**
 * Sign a member of staff in: password (argon2id), lockout after LOCKOUT_FAILURES failures
 * in a row, then the second factor if they have one. Every outcome is audited.
 * @returns the session token for the cookie (only its hash is stored) and the principal.
 */
export async function signIn(
  db: Db,
  key: Buffer,
  input: LoginRequest,
  now: Date = new Date(),
): Promise<{ token: string; principal: StaffPrincipal }> {
  const [user] = await db.select().from(staffUsers).where(eq(staffUsers.email, input.email));
  if (!user || user.disabledAt) {
    await verifyAgainstNobody(input.password);
    throw SIGN_IN_FAILED();
  }
  const audit = (action: string, details?: Record<string, unknown>) =>
    auditAccount(db, user.id, action, details);
  if (user.lockedUntil && user.lockedUntil > now) {
    await audit('auth.sign_in_refused_locked');
    throw new WireError(
      'ACCOUNT_LOCKED',
      423,
      `This account is locked after ${LOCKOUT_FAILURES} failed sign-ins. Try again after ${user.lockedUntil.toISOString().slice(11, 16)} UTC, or ask your organisation admin to unlock it.`,
    );
  }
  const fail = async (reason: 'password' | 'totp') => {
    // One statement, so two failures at once cannot both read the old count.
    const [updated] = await db
      .update(staffUsers)
      .set({
        failedLogins: sql`${staffUsers.failedLogins} + 1`,
        lockedUntil: sql`case when ${staffUsers.failedLogins} + 1 >= ${LOCKOUT_FAILURES} then ${new Date(now.getTime() + LOCKOUT_MS).toISOString()}::timestamptz else null end`,
      })
      .where(eq(staffUsers.id, user.id))
      .returning({ failedLogins: staffUsers.failedLogins });
    await audit('auth.sign_in_failed', { reason, failedInARow: updated?.failedLogins ?? null });
  };
  if (!(await verifyPassword(user.passwordHash, input.password))) {
    await fail('password');
    throw SIGN_IN_FAILED();
  }
  const roles = await rolesOf(db, user.id);
  let mfa: MfaState = roles.some(({ role }) => MFA_ROLES.has(role))
    ? 'setup_required'
    : 'not_required';
  let totpStep: number | undefined;
  if (user.totpSecret) {
    if (!input.totp) {
      throw new WireError(
        'MFA_REQUIRED',
        401,
        'Enter the 6-digit code from your authenticator app as well as your password.',
      );
    }
    totpStep = acceptedStep(unseal(key, user.totpSecret), user.email, input.totp, now);
    if (totpStep === undefined || (user.totpLastStep !== null && totpStep <= user.totpLastStep)) {
      await fail('totp');
      throw new WireError(
        'MFA_INVALID',
        401,
        'That code is wrong or has been used already. Wait for the next code in your authenticator app and try again.',
      );
    }
    mfa = 'verified';
  }
  const token = newToken();
  const csrfToken = newToken();
  const expiresAt = new Date(now.getTime() + SESSION_IDLE_MS);
  const session = await db.transaction(async (tx) => {
    await tx
      .update(staffUsers)
      .set({ failedLogins: 0, lockedUntil: null, ...(totpStep ? { totpLastStep: totpStep } : {}) })
      .where(eq(staffUsers.id, user.id));
    const [row] = await tx
      .insert(staffSessions)
      .values({ tokenHash: hashSecret(token), userId: user.id, csrfToken, mfa, expiresAt })
      .returning({ id: staffSessions.id });
    await auditAccount(tx, user.id, 'auth.signed_in', { mfa });
    return row;
  });
  if (!session) throw new Error('session insert returned nothing');
  return {
    token,
    principal: {
      sessionId: session.id,
      userId: user.id,
      organisationId: user.organisationId,
      email: user.email,
      displayName: user.displayName,
      mfa,
      csrfToken,
      expiresAt,
      roles,
      siteRoles: await siteRolesOf(db, user.organisationId, roles),
    },
  };
}

/** The principal behind a session cookie, sliding its idle expiry; undefined if none or expired. */
export async function resolveSession(
  db: Db,
  token: string,
  now: Date = new Date(),
): Promise<StaffPrincipal | undefined> {
  const [row] = await db
    .select({ session: staffSessions, user: staffUsers })
    .from(staffSessions)
    .innerJoin(staffUsers, eq(staffUsers.id, staffSessions.userId))
    .where(and(eq(staffSessions.tokenHash, hashSecret(token)), gt(staffSessions.expiresAt, now)));
  if (!row || row.user.disabledAt) return undefined;
  let expiresAt = row.session.expiresAt;
  if (now.getTime() - row.session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    expiresAt = new Date(
      Math.min(now.getTime() + SESSION_IDLE_MS, row.session.createdAt.getTime() + SESSION_MAX_MS),
    );
    await db
      .update(staffSessions)
      .set({ lastSeenAt: now, expiresAt })
      .where(eq(staffSessions.id, row.session.id));
  }
  const roles = await rolesOf(db, row.user.id);
  return {
    sessionId: row.session.id,
    userId: row.user.id,
    organisationId: row.user.organisationId,
    email: row.user.email,
    displayName: row.user.displayName,
    mfa: row.session.mfa,
    csrfToken: row.session.csrfToken,
    expiresAt,
    roles,
    siteRoles: await siteRolesOf(db, row.user.organisationId, roles),
  };
}

export async function signOut(db: Db, principal: StaffPrincipal): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(staffSessions).where(eq(staffSessions.id, principal.sessionId));
    await auditAccount(tx, principal.userId, 'auth.signed_out');
  });
}

/** Change one's own password; every other session of the user ends. */
export async function changePassword(
  db: Db,
  principal: StaffPrincipal,
  currentPassword: string,
  newPassword: string,
): Promise<void> {
  const [user] = await db.select().from(staffUsers).where(eq(staffUsers.id, principal.userId));
  if (!user || !(await verifyPassword(user.passwordHash, currentPassword))) {
    throw new WireError('SIGN_IN_FAILED', 403, 'Your current password is not right.');
  }
  if (newPassword.toLowerCase().includes(user.email.split('@')[0] ?? user.email)) {
    throw new WireError(
      'PASSWORD_TOO_WEAK',
      400,
      'Choose a password that does not contain your email name.',
    );
  }
  const passwordHash = await hashPassword(newPassword);
  await db.transaction(async (tx) => {
    await tx
      .update(staffUsers)
      .set({ passwordHash, passwordChangedAt: new Date() })
      .where(eq(staffUsers.id, user.id));
    await endOtherSessions(tx, user.id, principal.sessionId);
    await auditAccount(tx, user.id, 'auth.password_changed');
  });
}

/** Begin setting up a second factor: a new secret, kept pending until a code from it is confirmed. */
export async function startTotpSetup(
  db: Db,
  key: Buffer,
  principal: StaffPrincipal,
): Promise<{ secret: string; otpauthUri: string }> {
  const secret = new Secret({ size: 20 }).base32;
  await db
    .update(staffUsers)
    .set({ totpPendingSecret: seal(key, secret) })
    .where(eq(staffUsers.id, principal.userId));
  return { secret, otpauthUri: totpFor(principal.email, secret).toString() };
}

/** Confirm the pending secret with a code from it: it becomes the user's second factor. */
export async function confirmTotp(
  db: Db,
  key: Buffer,
  principal: StaffPrincipal,
  code: string,
  now: Date = new Date(),
): Promise<void> {
  const [user] = await db.select().from(staffUsers).where(eq(staffUsers.id, principal.userId));
  if (!user?.totpPendingSecret) {
    throw new WireError(
      'CONFLICT',
      409,
      'Start setting up your authenticator app first (POST /api/auth/totp/setup).',
    );
  }
  const step = acceptedStep(unseal(key, user.totpPendingSecret), user.email, code, now);
  if (step === undefined) {
    throw new WireError(
      'MFA_INVALID',
      400,
      'That code does not match. Check the time on your phone is right and enter the code your app shows now.',
    );
  }
  await db.transaction(async (tx) => {
    await tx
      .update(staffUsers)
      .set({ totpSecret: user.totpPendingSecret, totpPendingSecret: null, totpLastStep: step })
      .where(eq(staffUsers.id, user.id));
    await tx
      .update(staffSessions)
      .set({ mfa: 'verified' })
      .where(eq(staffSessions.id, principal.sessionId));
    // Other sessions were signed in without this factor: they end.
    await endOtherSessions(tx, user.id, principal.sessionId);
    await auditAccount(tx, user.id, 'auth.totp_enabled');
  });
}
