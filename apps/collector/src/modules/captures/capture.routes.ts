import { and, eq } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import {
  CaptureDetailSchema,
  CaptureListQuerySchema,
  CaptureListResponseSchema,
  CaptureStatusChangeSchema,
  ErrorBodySchema,
  UuidSchema,
} from '@lantern/protocol';

import { WireError, API_ERROR_RESPONSES } from '../../errors.ts';
import { appendAudit } from '../audit/audit.repository.ts';
import type { StaffPrincipal } from '../auth/auth.service.ts';
import { findCapture, listCaptures, visibleSubjectKinds } from './capture.queries.ts';
import { captures } from './capture.table.ts';

const errors = API_ERROR_RESPONSES;

const CLOSED = new Set(['false_positive', 'no_further_action']);

/** The triage queue, a capture's content (audited) and its status. */
export const captureRoutes: FastifyPluginAsyncZod = async (app) => {
  const kindsAt = (staff: StaffPrincipal | null, siteId: string) =>
    visibleSubjectKinds(staff?.siteRoles.get(siteId) ?? []);

  app.get(
    '/api/sites/:siteId/captures',
    {
      config: { access: { kind: 'site', permission: 'captures.list' } },
      schema: {
        tags: ['captures'],
        params: z.object({ siteId: UuidSchema }),
        querystring: CaptureListQuerySchema,
        response: { 200: CaptureListResponseSchema, ...errors },
      },
    },
    async (request) =>
      listCaptures(
        app.database.db,
        request.params.siteId,
        kindsAt(request.staff, request.params.siteId),
        request.query,
      ),
  );

  /** Loads a capture the user may see at its site, or answers 404 as if it were not there. */
  const visibleCapture = async (
    request: {
      staff: StaffPrincipal | null;
      authoriseSite(siteId: string, notFound: string): void;
    },
    id: string,
  ) => {
    const notFound = `There is no capture ${id}.`;
    const capture = await findCapture(app.database.db, id);
    if (!capture) throw new WireError('NOT_FOUND', 404, notFound);
    request.authoriseSite(capture.siteId, notFound);
    if (!kindsAt(request.staff, capture.siteId).includes(capture.subjectKind))
      throw new WireError('NOT_FOUND', 404, notFound);
    return capture;
  };

  app.get(
    '/api/captures/:captureId',
    {
      config: { access: { kind: 'resource', permission: 'captures.read' } },
      schema: {
        tags: ['captures'],
        params: z.object({ captureId: UuidSchema }),
        response: { 200: CaptureDetailSchema, ...errors },
      },
    },
    async (request) => {
      const capture = await visibleCapture(request, request.params.captureId);
      await appendAudit(app.database.db, {
        siteId: capture.siteId,
        actorKind: 'user',
        actorId: request.staff?.userId ?? null,
        action: 'capture.read',
        targetType: 'capture',
        targetId: capture.id,
      });
      return capture;
    },
  );

  app.post(
    '/api/captures/:captureId/status',
    {
      config: { access: { kind: 'resource', permission: 'captures.triage' } },
      schema: {
        tags: ['captures'],
        params: z.object({ captureId: UuidSchema }),
        body: CaptureStatusChangeSchema,
        response: { 204: z.null(), ...errors, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const capture = await visibleCapture(request, request.params.captureId);
      const { status, reason } = request.body;
      if (capture.status === 'in_concern') {
        throw new WireError(
          'CONFLICT',
          409,
          'This capture is part of a concern: change it from the concern.',
        );
      }
      if (CLOSED.has(capture.status) && !CLOSED.has(status) && !reason) {
        throw new WireError(
          'REQUEST_INVALID',
          400,
          'Reopening a closed capture needs a reason, for the record.',
        );
      }
      if (capture.status === status) return reply.code(204).send(null);
      await app.database.db.transaction(async (tx) => {
        // Only from the status this user saw: two DSLs triaging at once cannot both win.
        const changed = await tx
          .update(captures)
          .set({ status })
          .where(and(eq(captures.id, capture.id), eq(captures.status, capture.status)))
          .returning({ id: captures.id });
        if (changed.length === 0) {
          throw new WireError(
            'CONFLICT',
            409,
            'Someone else changed this capture a moment ago: reload it and decide again.',
          );
        }
        await appendAudit(tx, {
          siteId: capture.siteId,
          actorKind: 'user',
          actorId: request.staff?.userId ?? null,
          action: 'capture.status_changed',
          targetType: 'capture',
          targetId: capture.id,
          reason: reason ?? null,
          details: { from: capture.status, to: status },
        });
      });
      return reply.code(204).send(null);
    },
  );
};
