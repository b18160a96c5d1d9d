// Workstations enrolled for credential-provider mode (operator:manage): enrol a public key, list, revoke.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { IdentityServices } from '../identity/identity-services.ts';
import { actorOf, idParam, jsonSchema } from './route-schema.ts';

const enrolBody = z.strictObject({
  name: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/),
  publicKey: z.string().min(1).max(4096).regex(/^-----BEGIN PUBLIC KEY-----/),
});
const workstationAnswer = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'revoked']),
  enrolledBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const workstationRoutes: FastifyPluginAsync<{ identity: IdentityServices }> = async (app, { identity }) => {
  const manage = { access: 'operator:manage' as const };
  app.get('/workstations', { config: manage, schema: { tags: ['workstations'], response: { 200: jsonSchema(z.array(workstationAnswer)) } } }, async () => identity.workstations.list());
  app.post(
    '/workstations',
    { config: manage, schema: { tags: ['workstations'], body: jsonSchema(enrolBody), response: { 201: jsonSchema(workstationAnswer) } } },
    async (request, reply) => {
      const body = request.body as z.infer<typeof enrolBody>;
      return reply.status(201).send(await identity.workstations.enrol(actorOf(request), body.name, body.publicKey));
    },
  );
  app.delete(
    '/workstations/:workstationId',
    { config: manage, schema: { tags: ['workstations'], params: jsonSchema(idParam('workstationId')), response: { 200: jsonSchema(workstationAnswer) } } },
    async (request) => identity.workstations.revoke(actorOf(request), (request.params as { workstationId: string }).workstationId),
  );
};
