/**
 * What one collector tells the others through PostgreSQL NOTIFY (DESIGN.md: the collector
 * is stateless; cross-instance signals go through the database). Notify inside the
 * transaction that makes the change: PostgreSQL delivers it only if that commits.
 */
import { sql } from 'drizzle-orm';

import type { Queryable } from '../audit/audit.repository.ts';

export const CHANNELS = {
  /** Payload: the device id. Every instance cuts that device's connection. */
  deviceRevoked: 'lantern_device_revoked',
  /** Payload: the site id. Every instance sends the site's devices the new policy. */
  policyChanged: 'lantern_policy_changed',
} as const;

export async function notifyDeviceRevoked(tx: Queryable, deviceId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${CHANNELS.deviceRevoked}, ${deviceId})`);
}

export async function notifyPolicyChanged(tx: Queryable, siteId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${CHANNELS.policyChanged}, ${siteId})`);
}
