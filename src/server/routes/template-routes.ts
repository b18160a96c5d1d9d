// Credential templates: read (any operator), create/update/lock (template:manage), check a PIN against a policy.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { Secret } from '../../secret.ts';
import { templateDefinitionSchema } from '../domain/credential-template.ts';
import type { Services } from '../services/services.ts';
import { actorOf, idParam, jsonSchema } from './route-schema.ts';

const templateAnswer = templateDefinitionSchema.extend({
  id: z.string(),
  version: z.number().int(),
  lockedBy: z.string().nullable(),
  lockedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const updateBody = z.strictObject({ expectedVersion: z.number().int().min(1), template: templateDefinitionSchema });
const pinCheckBody = z.strictObject({ pin: z.string().min(1).max(64) });
const pinCheckAnswer = z.object({ acceptable: z.boolean(), violations: z.array(z.object({ code: z.string(), message: z.string() })) });
const params = jsonSchema(idParam('templateId'));
type Params = { templateId: string };

export const templateRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const manage = { access: 'template:manage' as const };
  const one = { 200: jsonSchema(templateAnswer) };
  app.get('/templates', { config: { access: 'operator' }, schema: { tags: ['templates'], response: { 200: jsonSchema(z.array(templateAnswer)) } } }, async () =>
    services.templates.list(),
  );
  app.get('/templates/:templateId', { config: { access: 'operator' }, schema: { tags: ['templates'], params, response: one } }, async (request) =>
    services.templates.get((request.params as Params).templateId),
  );
  app.post(
    '/templates',
    { config: manage, schema: { tags: ['templates'], body: jsonSchema(templateDefinitionSchema), response: { 201: jsonSchema(templateAnswer) } } },
    async (request, reply) => reply.status(201).send(await services.templates.create(actorOf(request), request.body as z.infer<typeof templateDefinitionSchema>)),
  );
  app.put('/templates/:templateId', { config: manage, schema: { tags: ['templates'], params, body: jsonSchema(updateBody), response: one } }, async (request) => {
    const body = request.body as z.infer<typeof updateBody>;
    return services.templates.update(actorOf(request), (request.params as Params).templateId, body.expectedVersion, body.template);
  });
  app.post('/templates/:templateId/lock', { config: manage, schema: { tags: ['templates'], params, response: one } }, async (request) =>
    services.templates.lock(actorOf(request), (request.params as Params).templateId),
  );
  app.delete('/templates/:templateId/lock', { config: manage, schema: { tags: ['templates'], params, response: one } }, async (request) =>
    services.templates.unlock(actorOf(request), (request.params as Params).templateId),
  );
  app.post(
    '/templates/:templateId/pin-check',
    { config: { access: 'operator' }, schema: { tags: ['templates'], params, body: jsonSchema(pinCheckBody), response: { 200: jsonSchema(pinCheckAnswer) } } },
    async (request) => {
      const pin = Secret.fromText((request.body as z.infer<typeof pinCheckBody>).pin);
      const violations = await services.templates.checkPin((request.params as Params).templateId, pin);
      return { acceptable: violations.length === 0, violations };
    },
  );
};
