import { and, eq, isNull } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import {
  CLOSE_CODES,
  DeviceListQuerySchema,
  DeviceListResponseSchema,
  EnrolmentTokenCreatedSchema,
  EnrolmentTokenCreateSchema,
  EnrolmentTokenListQuerySchema,
  EnrolmentTokenListResponseSchema,
  UuidSchema,
} from '@lantern/protocol';

import { WireError, API_ERROR_RESPONSES } from '../../errors.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import { notifyDeviceRevoked } from '../events/events.ts';
import { listDevices, listEnrolmentTokens } from './device.repository.ts';
import { devices, enrolmentTokens } from './device.table.ts';
import { createEnrolmentToken } from './enrolment.service.ts';

const errors = API_ERROR_RESPONSES;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Devices, their revocation, and enrolment tokens: the technician's side of Lantern. */
export const deviceRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/sites/:siteId/devices',
    {
      config: { access: { kind: 'site', permission: 'devices.read' } },
      schema: {
        tags: ['devices'],
        params: z.object({ siteId: UuidSchema }),
        querystring: DeviceListQuerySchema,
        response: { 200: DeviceListResponseSchema, ...errors },
      },
    },
    async (request) => listDevices(app.database.db, request.params.siteId, request.query),
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
        querystring: EnrolmentTokenListQuerySchema,
        response: { 200: EnrolmentTokenListResponseSchema, ...errors },
      },
    },
    async (request) => listEnrolmentTokens(app.database.db, request.params.siteId, request.query),
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
