import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import {
  ErrorBodySchema,
  UserCreateSchema,
  UserListQuerySchema,
  UserListResponseSchema,
  UserRolesUpdateSchema,
  UuidSchema,
} from '@lantern/protocol';

import { API_ERROR_RESPONSES, requireStaff } from '../../errors.ts';
import { createUser, listUsers, setRoles } from './user.service.ts';

const errors = { ...API_ERROR_RESPONSES, 409: ErrorBodySchema };

/** Staff accounts and roles, managed by the organisation admin. */
export const userRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/users',
    {
      config: { access: { kind: 'organisation', permission: 'users.manage' } },
      schema: {
        tags: ['users'],
        querystring: UserListQuerySchema,
        response: { 200: UserListResponseSchema, ...errors },
      },
    },
    async (request) =>
      listUsers(app.database.db, requireStaff(request.staff).organisationId, request.query),
  );

  app.post(
    '/api/users',
    {
      config: { access: { kind: 'organisation', permission: 'users.manage' } },
      schema: {
        tags: ['users'],
        body: UserCreateSchema,
        response: { 201: z.object({ id: UuidSchema }), ...errors },
      },
    },
    async (request, reply) => {
      const staff = requireStaff(request.staff);
      const id = await createUser(app.database.db, {
        ...request.body,
        organisationId: staff.organisationId,
        createdBy: staff.userId,
      });
      return reply.code(201).send({ id });
    },
  );

  app.put(
    '/api/users/:userId/roles',
    {
      config: { access: { kind: 'organisation', permission: 'users.manage' } },
      schema: {
        tags: ['users'],
        params: z.object({ userId: UuidSchema }),
        body: UserRolesUpdateSchema,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const staff = requireStaff(request.staff);
      await setRoles(
        app.database.db,
        staff.organisationId,
        request.params.userId,
        request.body.roles,
        staff.userId,
      );
      return reply.code(204).send(null);
    },
  );
};
