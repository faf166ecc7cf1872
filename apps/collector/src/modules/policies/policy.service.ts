import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { and, count, eq, sql } from 'drizzle-orm';

import { BUILT_IN_LEXICON_DIR } from '@lantern/lexicon';
import {
  CATEGORY_IDS,
  MAX_FRAME_BYTES,
  MAX_GROUP_MEMBERS,
  PROTOCOL_VERSION,
  PolicySchema,
  type Category,
  type Policy,
  type PolicyChange,
  type PolicyFrame,
  type ScreenshotRule,
} from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { WireError } from '../../errors.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { notifyPolicyChanged } from '../events/events.ts';
import { sites } from '../organisations/organisation.table.ts';
import { liveExemptions, resolveGroupMembers, sameMembers } from './group-members.ts';
import { policies } from './policy.table.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The version of a site's policy before anyone has changed it. */
export const DEFAULT_POLICY_VERSION = '0';

let lexiconVersion: string | undefined;
/** The lexicon this collector ships, which agents are told to use. */
function shippedLexiconVersion(): string {
  lexiconVersion ??= readFileSync(join(BUILT_IN_LEXICON_DIR, 'VERSION'), 'utf8').trim();
  return lexiconVersion;
}

/**
 * The policy a site starts with: every category screenshotted except `csam_iioc` (never:
 * making such an image is itself an offence) and pornography (taken, hidden by default);
 * a login notice naming the school; a 256 MB, 60-day spool; a heartbeat a minute.
 */
export function defaultPolicy(site: { id: string; name: string }, now: Date): Policy {
  const rules = Object.fromEntries(
    CATEGORY_IDS.map((id): [Category, ScreenshotRule] => [
      id,
      id === 'csam_iioc' ? 'off' : id === 'pornography' ? 'sensitive' : 'on',
    ]),
  ) as Record<Category, ScreenshotRule>;
  return {
    version: DEFAULT_POLICY_VERSION,
    siteId: site.id,
    issuedAt: now.toISOString(),
    lexicon: { version: shippedLexiconVersion(), ageBand: 'secondary', overrides: [] },
    exemptions: [],
    groupMembers: {},
    screenshots: { enabled: true, maxWidthPx: 1280, quality: 70, categories: rules },
    banner: {
      schoolName: site.name,
      title: 'This device is monitored',
      text: `To help keep everyone safe, ${site.name} monitors what is typed and shown on school devices, as the law asks schools to. If something worrying appears, the school's safeguarding lead may see it. If anything is worrying you, talk to any member of staff.`,
      contact: "Your school's Designated Safeguarding Lead",
    },
    spool: { maxBytes: 256 * 1024 * 1024, maxAgeDays: 60 },
    heartbeatIntervalMs: 60_000,
  };
}

/** The policy a site's devices follow now: its latest version, or the default. */
export async function currentPolicy(db: Db | Tx, siteId: string): Promise<Policy> {
  const [latest] = await db
    .select({ body: policies.body })
    .from(policies)
    .where(eq(policies.siteId, siteId))
    // Numbered 1, 2, 3… under a lock: the highest number is the newest (as text, "10" < "9").
    .orderBy(sql`${policies.version}::integer desc`)
    .limit(1);
  if (latest) return PolicySchema.parse(latest.body);
  const [site] = await db.select().from(sites).where(eq(sites.id, siteId));
  if (!site) throw new WireError('NOT_FOUND', 404, `There is no site ${siteId}.`);
  return defaultPolicy(site, site.createdAt);
}

/**
 * One stored version of a site's policy, as its devices were sent it; undefined for the
 * default ('0', never stored) and for a version the site never had. A version never
 * changes once made, so callers may keep it.
 */
export async function storedPolicyVersion(
  db: Db,
  siteId: string,
  version: string,
): Promise<Policy | undefined> {
  const [stored] = await db
    .select({ body: policies.body })
    .from(policies)
    .where(and(eq(policies.siteId, siteId), eq(policies.version, version)));
  return stored ? PolicySchema.parse(stored.body) : undefined;
}

/** What a version holds besides its number, site and date, and who is in its lessons' groups. */
type PolicyBody = PolicyChange['policy'];

/**
 * Store the next version of a site's policy (numbered 1, 2, 3…), log it with who and why,
 * and announce it (NOTIFY) so every collector pushes it to the site's connected devices.
 * The caller holds the site's lock and gives the lessons that have not ended with who is in
 * their groups.
 * @throws WireError REQUEST_INVALID when devices could not take the policy (too large).
 */
async function issuePolicy(
  tx: Tx,
  siteId: string,
  body: PolicyBody,
  groupMembers: Policy['groupMembers'],
  change: { actorId: string | null; reason: string; now: Date },
): Promise<Policy> {
  const members = Object.values(groupMembers).reduce((total, logins) => total + logins.length, 0);
  if (members > MAX_GROUP_MEMBERS) {
    throw new WireError(
      'REQUEST_INVALID',
      400,
      `The approved lessons in force name groups holding ${members} pupil logins in all; devices can be sent at most ${MAX_GROUP_MEMBERS}. End or narrow some lessons (name tutor groups rather than whole year groups).`,
    );
  }
  const [{ made } = { made: 0 }] = await tx
    .select({ made: count() })
    .from(policies)
    .where(eq(policies.siteId, siteId));
  const policy = PolicySchema.parse({
    ...body,
    groupMembers,
    version: String(made + 1),
    siteId,
    issuedAt: change.now.toISOString(),
  });
  const frame: PolicyFrame = { type: 'policy', v: PROTOCOL_VERSION, policy };
  const bytes = Buffer.byteLength(JSON.stringify(frame));
  if (bytes > MAX_FRAME_BYTES) {
    throw new WireError(
      'REQUEST_INVALID',
      400,
      `This policy would reach devices as ${Math.ceil(bytes / 1024)} KB; they accept at most ${MAX_FRAME_BYTES / 1024} KB. Remove site lexicon changes or approved lessons it no longer needs.`,
    );
  }
  await tx.insert(policies).values({
    siteId,
    version: policy.version,
    body: policy,
    createdBy: change.actorId,
    // The database's clock now, under the site's lock, rather than the transaction's start
    // (now()): an MIS import's transaction may have begun before the version it follows was
    // made, and currentPolicy takes the latest by this time.
    createdAt: sql`clock_timestamp()`,
  });
  await appendAudit(tx, {
    siteId,
    actorKind: change.actorId ? 'user' : 'system',
    actorId: change.actorId,
    action: 'policy.changed',
    targetType: 'policy',
    targetId: policy.version,
    reason: change.reason,
  });
  await notifyPolicyChanged(tx, siteId);
  return policy;
}

/** One policy change at a time per site, so two cannot make the same version number. */
async function lockSite(tx: Tx, siteId: string): Promise<void> {
  await tx.select({ id: sites.id }).from(sites).where(eq(sites.id, siteId)).for('update');
}

/**
 * Make a new version of a site's policy: numbered 1, 2, 3…, logged with who and why, and
 * announced (NOTIFY) so every collector pushes it to the site's connected devices. Approved
 * lessons that have ended by `now` are left out; the groups of the others are resolved to
 * who is in them now (see resolveGroupMembers).
 * @throws WireError REQUEST_INVALID when devices could not take the policy (too large).
 */
export async function changePolicy(
  db: Db,
  siteId: string,
  change: PolicyChange,
  actorId: string | null,
  now: Date = new Date(),
): Promise<Policy> {
  return db.transaction(async (tx) => {
    await lockSite(tx, siteId);
    const exemptions = liveExemptions(change.policy.exemptions, now);
    const groupMembers = await resolveGroupMembers(tx, siteId, exemptions);
    return issuePolicy(tx, siteId, { ...change.policy, exemptions }, groupMembers, {
      actorId,
      reason: change.reason,
      now,
    });
  });
}

/**
 * After an MIS import: a new version of the site's policy if the import changed who is in a
 * group named by an approved lesson that has not ended, so devices learn at once who the
 * lesson covers (and no longer covers). Lessons that have ended are left out of it. Runs in
 * the import's transaction, so the import and the version it causes commit together.
 * @returns the new version, or undefined when no such group changed.
 * @throws WireError REQUEST_INVALID when devices could not take the policy (too large).
 */
export async function reissuePolicyForGroupChanges(
  tx: Tx,
  siteId: string,
  actorId: string | null,
  now: Date = new Date(),
): Promise<Policy | undefined> {
  await lockSite(tx, siteId);
  const current = await currentPolicy(tx, siteId);
  const exemptions = liveExemptions(current.exemptions, now);
  if (exemptions.length === 0) return undefined;
  const groups = [...new Set(exemptions.flatMap((exemption) => exemption.groups))];
  const groupMembers = await resolveGroupMembers(tx, siteId, exemptions);
  if (sameMembers(groups, current.groupMembers, groupMembers)) return undefined;
  const {
    version: _version,
    siteId: _siteId,
    issuedAt: _issuedAt,
    groupMembers: _before,
    ...body
  } = current;
  return issuePolicy(tx, siteId, { ...body, exemptions }, groupMembers, {
    actorId,
    reason: 'The MIS import changed who is in the groups of an approved lesson.',
    now,
  });
}
