// Operator enrolment and sign-in: one-time code + OC public key, then challenge → signature → bearer session.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Services } from '../services/services.ts';
import { PERMISSIONS } from '../domain/permissions.ts';
import { actorOf, emptyBody, jsonSchema } from './route-schema.ts';

const operatorName = z.string().min(1).max(128).regex(/^[\p{L}\p{N}._@-]+$/u);

const enrolmentBody = z.strictObject({
  operatorName,
  enrolmentCode: z.string().min(4).max(64),
  /** SPKI of the OC's slot 9A key, PEM or base64 DER. */
  publicKey: z.string().min(40).max(4096),
});
const challengeBody = z.strictObject({ operatorName });
const challengeAnswer = z.object({ challengeId: z.string(), toSign: z.string(), expiresAt: z.string() });
const signInBody = z.strictObject({ challengeId: z.string().min(1).max(64), signature: z.string().min(8).max(512).regex(/^[A-Za-z0-9+/=]+$/) });
const actorAnswer = z.object({
  operatorId: z.string(),
  operatorName: z.string(),
  roleId: z.string(),
  permissions: z.array(z.enum(PERMISSIONS)),
  offlineLimits: z.object({ maxResponsesPerDay: z.number() }),
  holderId: z.string().nullable(),
});
const sessionAnswer = z.object({ token: z.string(), expiresAt: z.string(), operator: actorAnswer });
const enrolledAnswer = z.object({ operatorId: z.string(), operatorName: z.string(), status: z.string() });

export { operatorName as operatorNameSchema, actorAnswer };

export const sessionRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  app.post(
    '/enrolment',
    { config: { access: 'public' }, schema: { tags: ['sessions'], body: jsonSchema(enrolmentBody), response: { 200: jsonSchema(enrolledAnswer) } } },
    async (request) => {
      const operator = await services.operators.enrol(request.body as z.infer<typeof enrolmentBody>);
      return { operatorId: operator.id, operatorName: operator.name, status: operator.status };
    },
  );
  app.post(
    '/sessions/challenge',
    { config: { access: 'public' }, schema: { tags: ['sessions'], body: jsonSchema(challengeBody), response: { 200: jsonSchema(challengeAnswer) } } },
    async (request) => services.sessions.createChallenge((request.body as z.infer<typeof challengeBody>).operatorName),
  );
  app.post(
    '/sessions',
    { config: { access: 'public' }, schema: { tags: ['sessions'], body: jsonSchema(signInBody), response: { 200: jsonSchema(sessionAnswer) } } },
    async (request) => {
      const body = request.body as z.infer<typeof signInBody>;
      const { token, expiresAt, actor } = await services.sessions.signIn(body.challengeId, body.signature);
      return { token, expiresAt, operator: actor };
    },
  );
  app.delete(
    '/sessions/current',
    { config: { access: 'operator' }, schema: { tags: ['sessions'], response: { 204: jsonSchema(emptyBody) } } },
    async (request, reply) => {
      const token = request.headers.authorization!.slice('Bearer '.length);
      await services.sessions.signOut(actorOf(request), token);
      return reply.status(204).send();
    },
  );
  app.get(
    '/me',
    { config: { access: 'operator' }, schema: { tags: ['sessions'], response: { 200: jsonSchema(actorAnswer) } } },
    async (request) => actorOf(request),
  );
};
