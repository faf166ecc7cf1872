import {
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

import { createdAtColumn, idColumn, siteIdColumn } from '../../db/columns.ts';
import { staffUsers } from '../users/user.table.ts';

export const platformEnum = pgEnum('platform', ['windows', 'macos', 'linux']);
export const sessionStateEnum = pgEnum('session_state', [
  'active',
  'locked',
  'switched_out',
  'logged_out',
]);

/** An enrolled device. Its credential is stored only as a hash. */
export const devices = pgTable(
  'devices',
  {
    id: idColumn(),
    siteId: siteIdColumn(),
    hostname: text('hostname').notNull(),
    platform: platformEnum('platform').notNull(),
    osRelease: text('os_release').notNull(),
    arch: text('arch').notNull(),
    agentVersion: text('agent_version').notNull(),
    credentialHash: text('credential_hash').notNull(),
    enrolledAt: timestamp('enrolled_at', { withTimezone: true }).notNull().defaultNow(),
    enrolmentTokenId: uuid('enrolment_token_id'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    lastLoginName: text('last_login_name'),
    lastSession: sessionStateEnum('last_session'),
    /** The agent's last reported health (AgentHealth of @lantern/protocol). */
    health: jsonb('health'),
    policyVersion: text('policy_version'),
  },
  (table) => [
    // A site's devices by hostname: the device list's keyset (hostname, id). It serves every
    // other lookup by site too, so it replaces a site-only index (heartbeats update every
    // index of a device: one fewer to write).
    index('devices_site_hostname_idx').on(table.siteId, table.hostname, table.id),
    uniqueIndex('devices_credential_idx').on(table.credentialHash),
    index('devices_site_last_seen_idx').on(table.siteId, table.lastSeenAt),
  ],
);

/** Made by a technician for a site: expiring, revocable, with a use limit. Stored as a hash. */
export const enrolmentTokens = pgTable(
  'enrolment_tokens',
  {
    id: idColumn(),
    siteId: siteIdColumn(),
    tokenHash: text('token_hash').notNull(),
    label: text('label').notNull().default(''),
    createdBy: uuid('created_by').references(() => staffUsers.id),
    createdAt: createdAtColumn(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    maxUses: integer('max_uses').notNull(),
    useCount: integer('use_count').notNull().default(0),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('enrolment_tokens_hash_idx').on(table.tokenHash),
    // A site's tokens, newest first: the token list's keyset (created_at, id).
    index('enrolment_tokens_site_created_idx').on(
      table.siteId,
      table.createdAt.desc().nullsFirst(),
      table.id.desc().nullsFirst(),
    ),
  ],
);
