// Credentials: register (credential:issue), read, move along the lifecycle, explain which unblock methods are open.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { Secret } from '../../secret.ts';
import { CARD_TYPES } from '../domain/card-types.ts';
import { CREDENTIAL_STATES } from '../domain/credential-lifecycle.ts';
import { UNBLOCK_CLOSED_REASONS } from '../domain/unblock-explanation.ts';
import { UNBLOCK_METHODS } from '../domain/unblock-methods.ts';
import type { RegisterCredentialInput } from '../services/credential-service.ts';
import type { Services } from '../services/services.ts';
import { actorOf, idParam, jsonSchema } from './route-schema.ts';

const registerBody = z.strictObject({
  cardType: z.enum(CARD_TYPES),
  /** The 16-byte CHUID GUID (PIV) or card id (GIDS), as 32 hex digits. */
  cardIdentifier: z.string().regex(/^[0-9a-fA-F]{32}$/),
  holder: z.strictObject({ id: z.string().min(1).max(128), name: z.string().min(1).max(256), email: z.email().max(256).optional() }),
  templateId: z.string().min(1).max(64),
  yubikeySerial: z.string().regex(/^[0-9]{1,12}$/).optional(),
});
const credentialAnswer = z.object({
  id: z.string(),
  cardType: z.enum(CARD_TYPES),
  cardIdentifier: z.string(),
  holder: z.object({ id: z.string(), name: z.string(), email: z.string().nullable() }),
  templateId: z.string(),
  state: z.enum(CREDENTIAL_STATES),
  pinChangedAt: z.string().nullable(),
  pinExpiresAt: z.string().nullable(),
  keyVersion: z.number().int(),
  pukEscrowState: z.string(),
  yubikeySerial: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const transitionBody = z.strictObject({ to: z.enum(CREDENTIAL_STATES), reason: z.string().min(1).max(500) });
const listQuery = z.strictObject({ holderId: z.string().min(1).max(128).optional(), state: z.enum(CREDENTIAL_STATES).optional() });
const explanationAnswer = z.object({
  credentialId: z.string(),
  methods: z.array(z.object({ method: z.enum(UNBLOCK_METHODS), open: z.boolean(), reasons: z.array(z.enum(UNBLOCK_CLOSED_REASONS)) })),
});
const pinCheckBody = z.strictObject({ pin: z.string().min(1).max(64) });
const pinCheckAnswer = z.object({ acceptable: z.boolean(), violations: z.array(z.object({ code: z.string(), message: z.string() })) });
const params = jsonSchema(idParam('credentialId'));
type Params = { credentialId: string };

export const credentialRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const one = { 200: jsonSchema(credentialAnswer) };
  app.post(
    '/credentials',
    { config: { access: 'credential:issue' }, schema: { tags: ['credentials'], body: jsonSchema(registerBody), response: { 201: jsonSchema(credentialAnswer) } } },
    async (request, reply) => reply.status(201).send(await services.credentials.register(actorOf(request), request.body as RegisterCredentialInput)),
  );
  app.get(
    '/credentials',
    { config: { access: 'operator' }, schema: { tags: ['credentials'], querystring: jsonSchema(listQuery), response: { 200: jsonSchema(z.array(credentialAnswer)) } } },
    async (request) => services.credentials.list(request.query as z.infer<typeof listQuery>),
  );
  app.get('/credentials/:credentialId', { config: { access: 'operator' }, schema: { tags: ['credentials'], params, response: one } }, async (request) =>
    services.credentials.get((request.params as Params).credentialId),
  );
  app.post(
    '/credentials/:credentialId/transitions',
    { config: { access: 'credential:issue' }, schema: { tags: ['credentials'], params, body: jsonSchema(transitionBody), response: one } },
    async (request) => {
      const body = request.body as z.infer<typeof transitionBody>;
      return services.credentials.transition(actorOf(request), (request.params as Params).credentialId, body.to, body.reason);
    },
  );
  app.post(
    '/credentials/:credentialId/pin-check',
    { config: { access: 'operator' }, schema: { tags: ['credentials'], params, body: jsonSchema(pinCheckBody), response: { 200: jsonSchema(pinCheckAnswer) } } },
    async (request) => {
      const pin = Secret.fromText((request.body as z.infer<typeof pinCheckBody>).pin);
      const violations = await services.credentials.checkPin((request.params as Params).credentialId, pin);
      return { acceptable: violations.length === 0, violations };
    },
  );
  app.get(
    '/credentials/:credentialId/unblock-methods',
    { config: { access: 'operator' }, schema: { tags: ['credentials'], params, response: { 200: jsonSchema(explanationAnswer) } } },
    async (request) => {
      const credentialId = (request.params as Params).credentialId;
      return { credentialId, methods: await services.credentials.explainUnblockMethods(actorOf(request), credentialId) };
    },
  );
};
