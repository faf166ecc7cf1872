import { createHash, randomBytes } from 'node:crypto';

import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';

import { PROTOCOL_VERSION, type EnrolRequest, type EnrolResponse } from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { WireError } from '../../errors.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { sites } from '../organisations/organisation.table.ts';
import { devices, enrolmentTokens } from './device.table.ts';

/**
 * Tokens and credentials are 32 random bytes: far beyond guessing, so a plain SHA-256 of
 * them is a safe thing to store and look up by (passwords, which people choose, are
 * hashed with scrypt instead).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export const DEFAULT_TOKEN_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_TOKEN_USES = 500;

/**
 * Make an enrolment token for a site. The token is returned once and only its hash is kept:
 * a technician puts it in the installer (MSI/pkg property) for a rollout.
 */
export async function createEnrolmentToken(
  db: Db,
  input: {
    siteId: string;
    maxUses?: number;
    lifetimeMs?: number;
    label?: string;
    createdBy?: string | null;
    now?: Date;
  },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const now = input.now ?? new Date();
  const token = newSecret('lntenr');
  const expiresAt = new Date(now.getTime() + (input.lifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS));
  return db.transaction(async (tx) => {
    const [site] = await tx.select({ id: sites.id }).from(sites).where(eq(sites.id, input.siteId));
    if (!site) throw new WireError('NOT_FOUND', 404, `There is no site ${input.siteId}.`);
    const [row] = await tx
      .insert(enrolmentTokens)
      .values({
        siteId: input.siteId,
        tokenHash: hashSecret(token),
        label: input.label ?? '',
        createdBy: input.createdBy ?? null,
        expiresAt,
        maxUses: input.maxUses ?? DEFAULT_TOKEN_USES,
      })
      .returning({ id: enrolmentTokens.id });
    if (!row) throw new Error('unreachable: the token row was just inserted');
    await appendAudit(tx, {
      siteId: input.siteId,
      actorKind: input.createdBy ? 'user' : 'system',
      actorId: input.createdBy ?? null,
      action: 'enrolment_token.created',
      targetType: 'enrolment_token',
      targetId: row.id,
      details: {
        maxUses: input.maxUses ?? DEFAULT_TOKEN_USES,
        expiresAt: expiresAt.toISOString(),
        label: input.label ?? '',
      },
    });
    return { id: row.id, token, expiresAt };
  });
}

/**
 * Enrol a device: spend one use of a valid token and give the device an id and a
 * credential. The use is spent with one conditional UPDATE, so two devices racing for the
 * last use cannot both win.
 * @throws WireError ENROL_TOKEN_INVALID / _EXPIRED / _REVOKED / _EXHAUSTED (401 or 403).
 */
export async function enrolDevice(
  db: Db,
  request: EnrolRequest,
  now: Date = new Date(),
): Promise<EnrolResponse> {
  const tokenHash = hashSecret(request.enrolmentToken);
  return db.transaction(async (tx) => {
    const [spent] = await tx
      .update(enrolmentTokens)
      .set({ useCount: sql`${enrolmentTokens.useCount} + 1` })
      .where(
        and(
          eq(enrolmentTokens.tokenHash, tokenHash),
          isNull(enrolmentTokens.revokedAt),
          gt(enrolmentTokens.expiresAt, now),
          lt(enrolmentTokens.useCount, enrolmentTokens.maxUses),
        ),
      )
      .returning({ id: enrolmentTokens.id, siteId: enrolmentTokens.siteId });
    if (!spent) {
      const [token] = await tx
        .select()
        .from(enrolmentTokens)
        .where(eq(enrolmentTokens.tokenHash, tokenHash));
      if (!token)
        throw new WireError(
          'ENROL_TOKEN_INVALID',
          401,
          'This enrolment token is not known. Check it was copied whole, or ask for a new one.',
        );
      if (token.revokedAt)
        throw new WireError(
          'ENROL_TOKEN_REVOKED',
          403,
          'This enrolment token was revoked. Ask the technician for a current one.',
        );
      if (token.expiresAt <= now)
        throw new WireError(
          'ENROL_TOKEN_EXPIRED',
          403,
          `This enrolment token expired at ${token.expiresAt.toISOString()}. Ask the technician for a new one.`,
        );
      throw new WireError(
        'ENROL_TOKEN_EXHAUSTED',
        403,
        `This enrolment token has been used for all ${token.maxUses} devices it allows. Ask the technician for a new one.`,
      );
    }
    const credential = newSecret('lntdev');
    const [device] = await tx
      .insert(devices)
      .values({
        siteId: spent.siteId,
        hostname: request.hostname,
        platform: request.os.platform,
        osRelease: request.os.release,
        arch: request.os.arch,
        agentVersion: request.agentVersion,
        credentialHash: hashSecret(credential),
        enrolmentTokenId: spent.id,
        enrolledAt: now,
      })
      .returning({ id: devices.id });
    if (!device) throw new Error('unreachable: the device row was just inserted');
    await appendAudit(
      tx,
      {
        siteId: spent.siteId,
        actorKind: 'device',
        actorId: device.id,
        action: 'device.enrolled',
        targetType: 'device',
        targetId: device.id,
        details: {
          hostname: request.hostname,
          platform: request.os.platform,
          agentVersion: request.agentVersion,
          enrolmentTokenId: spent.id,
        },
      },
      now,
    );
    return {
      deviceId: device.id,
      siteId: spent.siteId,
      deviceCredential: credential,
      protocolVersion: PROTOCOL_VERSION,
    };
  });
}
