import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { count, desc, eq } from 'drizzle-orm';

import { BUILT_IN_LEXICON_DIR } from '@lantern/lexicon';
import {
  CATEGORY_IDS,
  PolicySchema,
  type Category,
  type Policy,
  type PolicyChange,
  type ScreenshotRule,
} from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { WireError } from '../../errors.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { notifyPolicyChanged } from '../events/events.ts';
import { sites } from '../organisations/organisation.table.ts';
import { policies } from './policy.table.ts';

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
export async function currentPolicy(db: Db, siteId: string): Promise<Policy> {
  const [latest] = await db
    .select({ body: policies.body })
    .from(policies)
    .where(eq(policies.siteId, siteId))
    .orderBy(desc(policies.createdAt), desc(policies.version))
    .limit(1);
  if (latest) return PolicySchema.parse(latest.body);
  const [site] = await db.select().from(sites).where(eq(sites.id, siteId));
  if (!site) throw new WireError('NOT_FOUND', 404, `There is no site ${siteId}.`);
  return defaultPolicy(site, site.createdAt);
}

/**
 * Make a new version of a site's policy: numbered 1, 2, 3…, logged with who and why, and
 * announced (NOTIFY) so every collector pushes it to the site's connected devices.
 */
export async function changePolicy(
  db: Db,
  siteId: string,
  change: PolicyChange,
  actorId: string | null,
): Promise<Policy> {
  return db.transaction(async (tx) => {
    // One change at a time per site, so two editors cannot make the same version number.
    await tx.select({ id: sites.id }).from(sites).where(eq(sites.id, siteId)).for('update');
    const [{ made } = { made: 0 }] = await tx
      .select({ made: count() })
      .from(policies)
      .where(eq(policies.siteId, siteId));
    const policy = PolicySchema.parse({
      ...change.policy,
      version: String(made + 1),
      siteId,
      issuedAt: new Date().toISOString(),
    });
    await tx.insert(policies).values({
      siteId,
      version: policy.version,
      body: policy,
      createdBy: actorId,
    });
    await appendAudit(tx, {
      siteId,
      actorKind: actorId ? 'user' : 'system',
      actorId,
      action: 'policy.changed',
      targetType: 'policy',
      targetId: policy.version,
      reason: change.reason,
    });
    await notifyPolicyChanged(tx, siteId);
    return policy;
  });
}
