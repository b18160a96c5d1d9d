// Operators and roles (operator:manage): create operators with one-time enrolment codes, define roles.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { PERMISSIONS } from '../domain/permissions.ts';
import type { Services } from '../services/services.ts';
import { actorOf, idParam, jsonSchema } from './route-schema.ts';
import { operatorNameSchema } from './session-routes.ts';

const offlineLimits = z.strictObject({ maxResponsesPerDay: z.number().int().min(0).max(10000) });
const roleBody = z.strictObject({
  name: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/),
  permissions: z.array(z.enum(PERMISSIONS)).max(PERMISSIONS.length),
  offlineLimits,
});
const roleAnswer = z.object({ id: z.string(), name: z.string(), permissions: z.array(z.string()), offlineLimits: z.object({ maxResponsesPerDay: z.number() }), builtIn: z.boolean() });
const operatorBody = z.strictObject({ name: operatorNameSchema, roleId: z.string().min(1).max(64), holderId: z.string().min(1).max(128).optional() });
const operatorAnswer = z.object({ id: z.string(), name: z.string(), roleId: z.string(), holderId: z.string().nullable(), status: z.string(), createdAt: z.string() });
const newOperatorAnswer = z.object({ operator: operatorAnswer, enrolmentCode: z.string(), enrolmentExpiresAt: z.string() });

export const operatorRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const manage = { access: 'operator:manage' as const };
  app.get('/roles', { config: manage, schema: { tags: ['operators'], response: { 200: jsonSchema(z.array(roleAnswer)) } } }, async () => services.operators.listRoles());
  app.post(
    '/roles',
    { config: manage, schema: { tags: ['operators'], body: jsonSchema(roleBody), response: { 201: jsonSchema(roleAnswer) } } },
    async (request, reply) => reply.status(201).send(await services.operators.createRole(actorOf(request), request.body as z.infer<typeof roleBody>)),
  );
  app.get('/operators', { config: manage, schema: { tags: ['operators'], response: { 200: jsonSchema(z.array(operatorAnswer)) } } }, async () => services.operators.listOperators());
  app.post(
    '/operators',
    { config: manage, schema: { tags: ['operators'], body: jsonSchema(operatorBody), response: { 201: jsonSchema(newOperatorAnswer) } } },
    async (request, reply) => reply.status(201).send(await services.operators.createOperator(actorOf(request), request.body as z.infer<typeof operatorBody>)),
  );
  app.post(
    '/operators/:operatorId/enrolment-code',
    { config: manage, schema: { tags: ['operators'], params: jsonSchema(idParam('operatorId')), response: { 200: jsonSchema(newOperatorAnswer) } } },
    async (request) => services.operators.reissueEnrolmentCode(actorOf(request), (request.params as { operatorId: string }).operatorId),
  );
};
