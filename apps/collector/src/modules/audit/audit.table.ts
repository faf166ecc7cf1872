import { bigint, index, jsonb, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const actorKindEnum = pgEnum('actor_kind', ['user', 'device', 'system']);

/**
 * Append-only, hash-chained record of every read of capture content and every change:
 * each entry holds the hash of the one before, so an edit anywhere breaks the chain.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    siteId: uuid('site_id'),
    actorKind: actorKindEnum('actor_kind').notNull(),
    actorId: uuid('actor_id'),
    /** What happened, e.g. `capture.read`, `capture.status_changed`, `policy.changed`. */
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    /** Why, where the user is asked (revealing a sensitive screenshot, a suppression). */
    reason: text('reason'),
    details: jsonb('details'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (table) => [
    index('audit_log_site_at_idx').on(table.siteId, table.at),
    index('audit_log_target_idx').on(table.targetType, table.targetId),
  ],
);
