import { createHash } from 'node:crypto';

import { desc, sql } from 'drizzle-orm';

import type { Db } from '../../db/database.ts';
import { auditLog } from './audit.table.ts';

/** The hash the first entry chains from. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** Any constant will do, as long as every collector of one database uses the same. */
const AUDIT_LOCK_KEY = 4_212_202_612;

/** What happened, who did it and to what; never capture content. */
export interface AuditEntry {
  readonly siteId: string | null;
  readonly actorKind: 'user' | 'device' | 'system';
  readonly actorId: string | null;
  readonly action: string;
  readonly targetType: string | null;
  readonly targetId: string | null;
  readonly reason?: string | null;
  readonly details?: Record<string, unknown> | null;
}

/** A transaction or the database: anything drizzle can run a query on. */
export type Queryable = Pick<Db, 'execute' | 'select' | 'insert'>;

/** JSON with object keys sorted at every depth: jsonb does not keep key order, so the hash must not depend on it. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The hash of an entry: SHA-256 over the previous hash and the entry's fields in a fixed
 * order, so changing any field of any entry, or removing one, breaks every hash after it.
 */
export function auditHash(prevHash: string, entry: AuditEntry & { readonly at: string }): string {
  const canonical = canonicalJson([
    prevHash,
    entry.at,
    entry.siteId,
    entry.actorKind,
    entry.actorId,
    entry.action,
    entry.targetType,
    entry.targetId,
    entry.reason ?? null,
    entry.details ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Append an entry to the chain. Call inside the transaction that makes the change, so the
 * change and its record commit together; appends from every collector take turns under
 * a transaction advisory lock, which keeps the chain a single line.
 */
export async function appendAudit(
  tx: Queryable,
  entry: AuditEntry,
  now: Date = new Date(),
): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`);
  const [last] = await tx
    .select({ hash: auditLog.hash })
    .from(auditLog)
    .orderBy(desc(auditLog.id))
    .limit(1);
  const prevHash = last?.hash ?? AUDIT_GENESIS_HASH;
  // Millisecond precision, as PostgreSQL keeps microseconds: the stored value must hash the same when read back.
  const at = new Date(Math.floor(now.getTime())).toISOString();
  await tx.insert(auditLog).values({
    at: new Date(at),
    siteId: entry.siteId,
    actorKind: entry.actorKind,
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    reason: entry.reason ?? null,
    details: entry.details ?? null,
    prevHash,
    hash: auditHash(prevHash, { ...entry, at }),
  });
}

/** An audit entry as stored (the fields the hash covers, plus its chain). */
export interface StoredAuditEntry extends AuditEntry {
  readonly id: number;
  readonly at: Date;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * Walk the chain in id order; the id of the first entry whose link or hash does not hold
 * (it, or an entry before it, was edited or removed), or undefined when the chain is whole.
 */
export function firstBrokenAuditEntry(entries: readonly StoredAuditEntry[]): number | undefined {
  let previous = AUDIT_GENESIS_HASH;
  for (const entry of entries) {
    if (entry.prevHash !== previous) return entry.id;
    if (entry.hash !== auditHash(previous, { ...entry, at: entry.at.toISOString() }))
      return entry.id;
    previous = entry.hash;
  }
  return undefined;
}
