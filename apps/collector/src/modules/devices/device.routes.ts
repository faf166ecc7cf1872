import { and, desc, eq, isNull } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import {
  AgentHealthSchema,
  CLOSE_CODES,
  DeviceSummarySchema,
  EnrolmentTokenCreatedSchema,
  EnrolmentTokenCreateSchema,
  EnrolmentTokenSummarySchema,
  UuidSchema,
  type DeviceSummary,
} from '@lantern/protocol';

import { WireError, API_ERROR_RESPONSES } from '../../errors.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { notifyDeviceRevoked } from '../events/events.ts';
import { sites } from '../organisations/organisation.table.ts';
import { deviceAttention } from './device-attention.ts';
import { devices, enrolmentTokens } from './device.table.ts';
import { createEnrolmentToken } from './enrolment.service.ts';

const errors = API_ERROR_RESPONSES;
const DAY_MS = 24 * 60 * 60 * 1000;
const iso = (date: Date | null) => date?.toISOString() ?? null;

/** Devices, their revocation, and enrolment tokens: the technician's side of Lantern. */
export const deviceRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/sites/:siteId/devices',
    {
      config: { access: { kind: 'site', permission: 'devices.read' } },
      schema: {
        tags: ['devices'],
        params: z.object({ siteId: UuidSchema }),
        querystring: z.strictObject({
          /** Only devices that need a technician's attention (quiet, failing, dropping). */
          attention: z.enum(['true', 'false']).optional(),
        }),
        response: { 200: z.object({ items: z.array(DeviceSummarySchema) }), ...errors },
      },
    },
    async (request) => {
      const [site] = await app.database.db
        .select({ timezone: sites.timezone })
        .from(sites)
        .where(eq(sites.id, request.params.siteId));
      const rows = await app.database.db
        .select()
        .from(devices)
        .where(eq(devices.siteId, request.params.siteId))
        .orderBy(devices.hostname, devices.id);
      const now = new Date();
      const items = rows.map((row): DeviceSummary => ({
        id: row.id,
        siteId: row.siteId,
        hostname: row.hostname,
        platform: row.platform,
        osRelease: row.osRelease,
        agentVersion: row.agentVersion,
        enrolledAt: row.enrolledAt.toISOString(),
        lastSeenAt: iso(row.lastSeenAt),
        lastLoginName: row.lastLoginName,
        lastSession: row.lastSession,
        policyVersion: row.policyVersion,
        revokedAt: iso(row.revokedAt),
        health: AgentHealthSchema.safeParse(row.health).data ?? null,
        attention: deviceAttention(row, site ?? { timezone: 'Europe/London' }, now),
      }));
      return {
        items:
          request.query.attention === 'true'
            ? items.filter((item) => item.attention.length > 0)
            : items,
      };
    },
  );

  app.post(
    '/api/devices/:deviceId/revoke',
    {
      config: { access: { kind: 'resource', permission: 'devices.manage' } },
      schema: {
        tags: ['devices'],
        params: z.object({ deviceId: UuidSchema }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { deviceId } = request.params;
      const [device] = await app.database.db
        .select({ siteId: devices.siteId, revokedAt: devices.revokedAt })
        .from(devices)
        .where(eq(devices.id, deviceId));
      const notFound = `There is no device ${deviceId}.`;
      if (!device) throw new WireError('NOT_FOUND', 404, notFound);
      request.authoriseSite(device.siteId, notFound);
      if (!device.revokedAt) {
        await app.database.db.transaction(async (tx) => {
          await tx
            .update(devices)
            .set({ revokedAt: new Date() })
            .where(and(eq(devices.id, deviceId), isNull(devices.revokedAt)));
          // Every collector instance cuts the device off when this commits.
          await notifyDeviceRevoked(tx, deviceId);
          await appendAudit(tx, {
            siteId: device.siteId,
            actorKind: 'user',
            actorId: request.staff?.userId ?? null,
            action: 'device.revoked',
            targetType: 'device',
            targetId: deviceId,
          });
        });
      }
      app.agents.disconnect(deviceId, CLOSE_CODES.deviceRevoked, 'device revoked');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/sites/:siteId/enrolment-tokens',
    {
      config: { access: { kind: 'site', permission: 'enrolment.manage' } },
      schema: {
        tags: ['devices'],
        params: z.object({ siteId: UuidSchema }),
        response: { 200: z.object({ items: z.array(EnrolmentTokenSummarySchema) }), ...errors },
      },
    },
    async (request) => {
      const rows = await app.database.db
        .select()
        .from(enrolmentTokens)
        .where(eq(enrolmentTokens.siteId, request.params.siteId))
        .orderBy(desc(enrolmentTokens.createdAt));
      return {
        items: rows.map((row) => ({
          id: row.id,
          label: row.label,
          createdAt: row.createdAt.toISOString(),
          expiresAt: row.expiresAt.toISOString(),
          maxUses: row.maxUses,
          useCount: row.useCount,
          revokedAt: iso(row.revokedAt),
        })),
      };
    },
  );

  app.post(
    '/api/sites/:siteId/enrolment-tokens',
    {
      config: { access: { kind: 'site', permission: 'enrolment.manage' } },
      schema: {
        tags: ['devices'],
        params: z.object({ siteId: UuidSchema }),
        body: EnrolmentTokenCreateSchema,
        response: { 201: EnrolmentTokenCreatedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const made = await createEnrolmentToken(app.database.db, {
        siteId: request.params.siteId,
        label: request.body.label,
        maxUses: request.body.maxUses,
        lifetimeMs: request.body.days * DAY_MS,
        createdBy: request.staff?.userId ?? null,
      });
      return reply
        .code(201)
        .send({ id: made.id, token: made.token, expiresAt: made.expiresAt.toISOString() });
    },
  );

  app.post(
    '/api/enrolment-tokens/:tokenId/revoke',
    {
      config: { access: { kind: 'resource', permission: 'enrolment.manage' } },
      schema: {
        tags: ['devices'],
        params: z.object({ tokenId: UuidSchema }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { tokenId } = request.params;
      const [token] = await app.database.db
        .select({ siteId: enrolmentTokens.siteId, revokedAt: enrolmentTokens.revokedAt })
        .from(enrolmentTokens)
        .where(eq(enrolmentTokens.id, tokenId));
      const notFound = `There is no enrolment token ${tokenId}.`;
      if (!token) throw new WireError('NOT_FOUND', 404, notFound);
      request.authoriseSite(token.siteId, notFound);
      if (!token.revokedAt) {
        await app.database.db.transaction(async (tx) => {
          await tx
            .update(enrolmentTokens)
            .set({ revokedAt: new Date() })
            .where(eq(enrolmentTokens.id, tokenId));
          await appendAudit(tx, {
            siteId: token.siteId,
            actorKind: 'user',
            actorId: request.staff?.userId ?? null,
            action: 'enrolment_token.revoked',
            targetType: 'enrolment_token',
            targetId: tokenId,
          });
        });
      }
      return reply.code(204).send(null);
    },
  );
};
