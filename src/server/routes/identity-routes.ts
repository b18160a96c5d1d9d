// Holder identity: directory lookups, security questions, lockouts, one-time unblock codes and the identity check itself.
import { Readable } from 'node:stream';
import { errorCodes, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Secret } from '../../secret.ts';
import { IDENTITY_FACTORS } from '../domain/credential-template.ts';
import { CHECK_REASONS, FACTOR_REASONS } from '../identity/identity-check-service.ts';
import type { IdentityServices } from '../identity/identity-services.ts';
import { MAX_SECURITY_QUESTIONS } from '../identity/security-question-service.ts';
import { CP_DOWNGRADE_REASONS } from '../identity/workstation-service.ts';
import { actorOf, idParam, jsonSchema } from './route-schema.ts';

const holderId = z.string().min(1).max(128).regex(/^[^\s*()\\\0]+$/);
const holderAnswer = z.object({ username: z.string(), displayName: z.string(), email: z.string().nullable(), status: z.enum(['active', 'disabled']) });
const holderViewAnswer = holderAnswer.extend({
  directory: z.enum(['local', 'ldap']),
  securityQuestions: z.object({ enrolled: z.number().int(), questions: z.array(z.string()) }),
  lockouts: z.array(z.object({ factor: z.string(), failures: z.number().int(), locked: z.boolean(), lockedAt: z.string().nullable() })),
});
const searchQuery = z.strictObject({ search: z.string().min(1).max(128), limit: z.string().regex(/^\d{1,3}$/).optional() });
const newHolderBody = z.strictObject({ username: holderId, displayName: z.string().min(1).max(256), email: z.email().max(256).optional(), password: z.string().min(1).max(256).optional() });
const questionsBody = z
  .array(z.strictObject({ question: z.string().trim().min(5).max(256), answer: z.string().min(1).max(256) }))
  .min(1)
  .max(MAX_SECURITY_QUESTIONS);
const operatorEnrolBody = z.strictObject({ questions: questionsBody });
const selfEnrolBody = z.strictObject({ username: holderId, password: z.string().min(1).max(256), questions: questionsBody });
const enrolledAnswer = z.object({ holderId: z.string(), questions: z.array(z.object({ id: z.string(), question: z.string() })) });
const liftBody = z.strictObject({ reason: z.string().min(1).max(500) });
const codeBody = z.strictObject({ delivery: z.enum(['show', 'email']), validMinutes: z.number().int().min(1).max(1440).optional() });
const codeAnswer = z.object({
  codeId: z.string(),
  credentialId: z.string(),
  holderId: z.string(),
  delivery: z.enum(['show', 'email']),
  expiresAt: z.string(),
  attempts: z.number().int(),
  code: z.string().optional(),
  sentTo: z.string().optional(),
});
const promptBody = z.strictObject({ credentialId: z.string().min(1).max(64) });
const checkBody = z.strictObject({
  credentialId: z.string().min(1).max(64),
  directoryPassword: z.string().min(1).max(256).optional(),
  securityAnswers: z.array(z.strictObject({ questionId: z.string().min(1).max(64), answer: z.string().min(1).max(256) })).min(1).max(MAX_SECURITY_QUESTIONS).optional(),
  oneTimeCode: z.string().min(1).max(32).optional(),
});
const checkAnswer = z.object({
  passed: z.boolean(),
  reason: z.enum(CHECK_REASONS),
  credentialId: z.string(),
  holderId: z.string(),
  mode: z.enum(['user-app', 'credential-provider']),
  downgradeReason: z.enum(CP_DOWNGRADE_REASONS).nullable(),
  minimumFactors: z.number().int(),
  factors: z.array(z.object({ factor: z.enum(IDENTITY_FACTORS), result: z.enum(['pass', 'fail', 'not-presented']), reason: z.enum(FACTOR_REASONS), locked: z.boolean() })),
});
const holderParams = jsonSchema(z.strictObject({ holderId }));
type HolderParams = { holderId: string };

/** The raw bytes of a body, kept for routes whose callers may sign them (credential-provider mode). */
const rawBodies = new WeakMap<FastifyRequest, Buffer>();

export function rawBodyOf(request: FastifyRequest): Buffer {
  return rawBodies.get(request) ?? Buffer.alloc(0);
}

/**
 * A route-level preParsing hook that keeps the raw body (bounded by the body limit) so a signature over it can be
 * checked; routes that may be called in credential-provider mode use it, then `rawBodyOf(request)`.
 */
export function rawBodyHook(bodyLimit: number) {
  return async (request: FastifyRequest, _reply: unknown, payload: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of payload) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += buffer.length;
      if (size > bodyLimit) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
      chunks.push(buffer);
    }
    const raw = Buffer.concat(chunks);
    rawBodies.set(request, raw);
    return Readable.from([raw]);
  };
}

export const identityRoutes: FastifyPluginAsync<{ identity: IdentityServices; bodyLimit: number }> = async (app, { identity, bodyLimit }) => {
  const keepRawBody = rawBodyHook(bodyLimit);

  app.get(
    '/holders',
    { config: { access: 'operator' }, schema: { tags: ['holders'], querystring: jsonSchema(searchQuery), response: { 200: jsonSchema(z.array(holderAnswer)) } } },
    async (request) => {
      const query = request.query as z.infer<typeof searchQuery>;
      return identity.holders.search(query.search, Math.min(Number(query.limit ?? 50), 200));
    },
  );
  app.post(
    '/holders',
    { config: { access: 'credential:issue' }, schema: { tags: ['holders'], body: jsonSchema(newHolderBody), response: { 201: jsonSchema(holderViewAnswer) } } },
    async (request, reply) => {
      const body = request.body as z.infer<typeof newHolderBody>;
      const holder = await identity.holders.createLocal(actorOf(request), {
        username: body.username,
        displayName: body.displayName,
        ...(body.email !== undefined ? { email: body.email } : {}),
        ...(body.password !== undefined ? { password: Secret.fromText(body.password) } : {}),
      });
      return reply.status(201).send(holder);
    },
  );
  app.get('/holders/:holderId', { config: { access: 'operator' }, schema: { tags: ['holders'], params: holderParams, response: { 200: jsonSchema(holderViewAnswer) } } }, async (request) =>
    identity.holders.view((request.params as HolderParams).holderId),
  );
  app.put(
    '/holders/:holderId/security-questions',
    { config: { access: 'credential:issue' }, schema: { tags: ['holders'], params: holderParams, body: jsonSchema(operatorEnrolBody), response: { 200: jsonSchema(enrolledAnswer) } } },
    async (request) => {
      const id = (request.params as HolderParams).holderId;
      const questions = (request.body as z.infer<typeof operatorEnrolBody>).questions.map((q) => ({ question: q.question, answer: Secret.fromText(q.answer) }));
      return { holderId: id, questions: await identity.securityQuestions.enrolByOperator(actorOf(request), id, questions) };
    },
  );
  app.post(
    '/holders/:holderId/lockout-lifts',
    { config: { access: 'unblock:operator' }, schema: { tags: ['holders'], params: holderParams, body: jsonSchema(liftBody), response: { 200: jsonSchema(holderViewAnswer) } } },
    async (request) => identity.holders.liftLockouts(actorOf(request), (request.params as HolderParams).holderId, (request.body as z.infer<typeof liftBody>).reason),
  );
  app.post(
    '/credentials/:credentialId/unblock-codes',
    { config: { access: 'unblock:operator' }, schema: { tags: ['credentials'], params: jsonSchema(idParam('credentialId')), body: jsonSchema(codeBody), response: { 201: jsonSchema(codeAnswer) } } },
    async (request, reply) => {
      const body = request.body as z.infer<typeof codeBody>;
      const issued = await identity.unblockCodes.issue(actorOf(request), (request.params as { credentialId: string }).credentialId, body.delivery, body.validMinutes);
      return reply.status(201).send(issued);
    },
  );
  app.post(
    '/self-service/security-questions',
    { config: { access: 'public' }, schema: { tags: ['self-service'], body: jsonSchema(selfEnrolBody), response: { 200: jsonSchema(enrolledAnswer) } } },
    async (request) => {
      const body = request.body as z.infer<typeof selfEnrolBody>;
      const questions = body.questions.map((q) => ({ question: q.question, answer: Secret.fromText(q.answer) }));
      return { holderId: body.username, questions: await identity.securityQuestions.enrolBySelfService(body.username, Secret.fromText(body.password), questions) };
    },
  );
  app.post(
    '/self-service/security-questions/prompt',
    { config: { access: 'public' }, schema: { tags: ['self-service'], body: jsonSchema(promptBody), response: { 200: jsonSchema(enrolledAnswer) } } },
    async (request) => identity.identityChecks.prompt((request.body as z.infer<typeof promptBody>).credentialId),
  );
  app.post(
    '/identity-checks',
    { config: { access: 'public' }, preParsing: keepRawBody, schema: { tags: ['self-service'], body: jsonSchema(checkBody), response: { 200: jsonSchema(checkAnswer) } } },
    async (request) => {
      const body = request.body as z.infer<typeof checkBody>;
      const mode = await identity.workstations.clientMode({ method: request.method, path: request.url, headers: request.headers, body: rawBodyOf(request) });
      return identity.identityChecks.check(
        body.credentialId,
        {
          ...(body.directoryPassword !== undefined ? { directoryPassword: Secret.fromText(body.directoryPassword) } : {}),
          ...(body.securityAnswers !== undefined ? { securityAnswers: body.securityAnswers.map((a) => ({ questionId: a.questionId, answer: Secret.fromText(a.answer) })) } : {}),
          ...(body.oneTimeCode !== undefined ? { oneTimeCode: Secret.fromText(body.oneTimeCode) } : {}),
        },
        mode,
      );
    },
  );
};
