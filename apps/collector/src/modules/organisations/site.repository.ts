import { eq } from 'drizzle-orm';

import type { Db } from '../../db/database.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { organisations, sites } from './organisation.table.ts';

/**
 * Create a site. With no organisation given, the only organisation is used, or, on a new
 * install, one is made with the site's name (a school standing alone).
 */
export async function createSite(
  db: Db,
  input: { name: string; organisationId?: string; urn?: string },
): Promise<{ siteId: string; organisationId: string }> {
  return db.transaction(async (tx) => {
    let organisationId = input.organisationId;
    if (!organisationId) {
      const existing = await tx.select({ id: organisations.id }).from(organisations).limit(2);
      if (existing.length > 1) {
        throw new Error('There are several organisations: say which this site belongs to.');
      }
      organisationId =
        existing[0]?.id ??
        (
          await tx
            .insert(organisations)
            .values({ name: input.name })
            .returning({ id: organisations.id })
        )[0]?.id;
    }
    if (!organisationId) throw new Error('unreachable: an organisation was just made');
    const [site] = await tx
      .insert(sites)
      .values({ organisationId, name: input.name, urn: input.urn ?? null })
      .returning({ id: sites.id });
    if (!site) throw new Error('unreachable: a site was just made');
    await appendAudit(tx, {
      siteId: site.id,
      actorKind: 'system',
      actorId: null,
      action: 'site.created',
      targetType: 'site',
      targetId: site.id,
      details: { name: input.name },
    });
    return { siteId: site.id, organisationId };
  });
}

export async function findSite(
  db: Db,
  siteId: string,
): Promise<{ id: string; name: string } | undefined> {
  const [site] = await db
    .select({ id: sites.id, name: sites.name })
    .from(sites)
    .where(eq(sites.id, siteId));
  return site;
}
