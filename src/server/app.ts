// buildApp: wires database, key store, audit log, domain services and routes into one Fastify instance.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { TesseraError, isTesseraError } from '../errors.ts';
import { ApiError, AuthenticationRequiredError, PermissionDeniedError, type ApiErrorDetail } from './api-errors.ts';
import { AuditLog } from './audit/audit-log.ts';
import type { AuditTrail } from './audit-trail.ts';
import type { DatabaseKind } from './db/open-database.ts';
import type { KeyStoreConfig } from './keys/key-store.ts';
import { databasePlugin } from './plugins/database-plugin.ts';
import { keyStorePlugin } from './plugins/key-store-plugin.ts';
import { credentialRoutes } from './routes/credential-routes.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { operatorRoutes } from './routes/operator-routes.ts';
import { auditRoutes } from './routes/audit-routes.ts';
import { templateRoutes } from './routes/template-routes.ts';
import { sessionRoutes } from './routes/session-routes.ts';
import { AJV_OPTIONS, type RouteAccess } from './routes/route-schema.ts';
import { reissueBootstrapCode, runFirstStart, type BootstrapResult } from './services/first-start.ts';
import { createServices, type Services } from './services/services.ts';
import { createIdentityServices, type IdentityServices } from './identity/identity-services.ts';
import type { IdentityOptions } from './identity/identity-config.ts';
import { identityRoutes } from './routes/identity-routes.ts';
import { workstationRoutes } from './routes/workstation-routes.ts';

export type { KeyStoreConfig };

export interface AppOptions {
  /** `postgres://...` or a SQLite file path (`sqlite:PATH` also accepted). */
  databaseUrl: string;
  keyStore: KeyStoreConfig;
  /** Directory for audit checkpoints kept outside the database. */
  auditCheckpointDir: string;
  logger: Logger | false;
  https?: { key: string; cert: string };
  sessionSeconds?: number;
  clock?: () => Date;
  bodyLimit?: number;
  /** Issue a new one-time code for the bootstrap administrator if it has not enrolled yet. */
  reissueBootstrapCode?: boolean;
  /** Directory (local or LDAP), SMTP, argon2id cost, one-time code settings. */
  identity?: IdentityOptions;
}

export interface TesseraServer {
  services: Services;
  identity: IdentityServices;
  auditLog: AuditLog;
  databaseKind: DatabaseKind;
  databaseLocation: string;
  /** Set when this start seeded a fresh database: the bootstrap administrator's one-time code. */
  firstStart: BootstrapResult | null;
  /** The bootstrap administrator's code issued by this start (first start, or re-issued on request). */
  bootstrapCode: BootstrapResult | null;
  /** `METHOD /api/v1/...` of every API route, for the authorisation matrix test. */
  apiRoutes: string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    tessera: TesseraServer;
  }
}

class RouteDeclarationError extends TesseraError {
  readonly code = 'ERR_SERVER_ROUTE_DECLARATION';
}

export const API_PREFIX = '/api/v1';

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger }),
    ...(options.https ? { https: options.https } : {}),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    ajv: { customOptions: AJV_OPTIONS },
  });
  app.decorateRequest('actor', null);

  try {
    // Infrastructure plugins close in reverse order of opening when the app closes, even after a failed start.
    await app.register(databasePlugin, { url: options.databaseUrl });
    await app.register(keyStorePlugin, { config: options.keyStore });
    const database = app.database;
    const keyStore = app.keyStore;
    const clock = options.clock ?? (() => new Date());
    const auditLog = new AuditLog({
      db: database.db,
      keyStore,
      checkpointDir: options.auditCheckpointDir,
      clock,
      // The events are committed by then: a checkpoint that cannot be written is logged, never turned into a failed request.
      onCheckpointError: (error) => app.log.error({ err: error }, 'audit checkpoint not written'),
    });
    const audit: AuditTrail = auditLog;
    // Added after the database and key store plugins, so it runs before they close: the last events get a checkpoint.
    app.addHook('onClose', async () => {
      await auditLog.checkpoint().catch((error: unknown) => app.log.error({ err: error }, 'audit checkpoint at shutdown not written'));
    });
    const context = { db: database.db, audit, keyStore, clock };
    const services = createServices(context, { sessionSeconds: options.sessionSeconds ?? 15 * 60 });
    const identity = createIdentityServices(services, options.identity);
    app.addHook('onClose', async () => identity.close());
    const firstStart = await runFirstStart(context, services);
    const bootstrapCode = firstStart ?? (options.reissueBootstrapCode ? await reissueBootstrapCode(context, services.operators) : null);
    const apiRoutes: string[] = [];
    app.decorate('tessera', { services, identity, auditLog, databaseKind: database.kind, databaseLocation: database.location, firstStart, bootstrapCode, apiRoutes });

    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith(API_PREFIX)) return;
      const access = (route.config as { access?: RouteAccess } | undefined)?.access;
      if (access === undefined) throw new RouteDeclarationError(`route ${route.url} declares no access rule`);
      if (route.schema?.response === undefined) throw new RouteDeclarationError(`route ${route.url} declares no response schema`);
      for (const method of [route.method].flat()) if (method !== 'HEAD') apiRoutes.push(`${method} ${route.url}`);
    });
    app.addHook('onRequest', async (request) => authorise(request, services));
    app.setErrorHandler(async (error: FastifyError, request, reply) => answerError(error, request, reply, audit));
    app.setNotFoundHandler(async (request, reply) => reply.status(404).send({ code: 'ERR_ROUTE_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }));

    await app.register(fastifySwagger, {
      openapi: {
        info: { title: 'Tessera CMS API', version: '1' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
    });
    await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
    await app.register(
      async (api) => {
        await api.register(healthRoutes, { databaseKind: database.kind });
        await api.register(sessionRoutes, { services });
        await api.register(operatorRoutes, { services });
        await api.register(templateRoutes, { services });
        await api.register(credentialRoutes, { services });
        await api.register(auditRoutes, { auditLog });
        await api.register(identityRoutes, { identity, bodyLimit: options.bodyLimit ?? 64 * 1024 });
        await api.register(workstationRoutes, { identity });
      },
      { prefix: API_PREFIX },
    );
  } catch (error) {
    // Close whatever opened before the failure (database pool, key store) so the process can exit.
    await app.close();
    throw error;
  }
  // The pino Logger type parameter is the only difference from the default instance type.
  return app as unknown as FastifyInstance;
}

async function authorise(request: FastifyRequest, services: Services): Promise<void> {
  const access = request.routeOptions.config.access;
  if (access === undefined || access === 'public') return;
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer ([A-Za-z0-9_-]{16,128})$/.exec(header);
  if (match === null) throw new AuthenticationRequiredError('sign in first: send Authorization: Bearer <session token>');
  request.actor = await services.sessions.authenticate(match[1]!);
  if (access !== 'operator' && !request.actor.permissions.includes(access)) {
    throw new PermissionDeniedError(`this needs the ${access} permission, which role ${request.actor.roleId} lacks`);
  }
}

interface Problem {
  statusCode: number;
  code: string;
  message: string;
  details?: ApiErrorDetail[];
}

/** Maps any error to the one answer shape; never echoes request content (a malformed body may hold a PIN). */
export function toProblem(error: FastifyError | Error): Problem {
  if (error instanceof ApiError) {
    return { statusCode: error.statusCode, code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const details = fastifyError.validation.map((v) => ({
      code: 'ERR_VALIDATION',
      path: `${fastifyError.validationContext ?? 'body'}${v.instancePath}`,
      message: v.message ?? 'is invalid',
    }));
    return { statusCode: 400, code: 'ERR_VALIDATION', message: `the request ${fastifyError.validationContext ?? 'body'} is invalid`, details };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { statusCode: 413, code: 'ERR_BODY_TOO_LARGE', message: 'the request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { statusCode: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' };
  }
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // JSON.parse messages quote the body, so the original message is never passed on.
    if (error instanceof SyntaxError || /JSON/.test(fastifyError.code ?? '')) {
      return { statusCode: 400, code: 'ERR_BODY_MALFORMED', message: 'the request body is not valid JSON' };
    }
    return { statusCode: 400, code: 'ERR_BAD_REQUEST', message: 'the request is malformed' };
  }
  if (isTesseraError(error)) return { statusCode: 500, code: error.code, message: error.message };
  return { statusCode: 500, code: 'ERR_INTERNAL', message: 'internal server error' };
}

async function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, audit: AuditTrail): Promise<FastifyReply> {
  const problem = toProblem(error);
  if (problem.statusCode >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
  else request.log.info({ code: problem.code }, 'request refused');
  const route = request.routeOptions.url;
  if (route !== undefined) {
    // Every refusal is audited with the route pattern (never the raw URL or body).
    await audit
      .append({
        action: `${request.method} ${route}`,
        ...(request.actor ? { actor: request.actor.operatorName } : {}),
        outcome: problem.statusCode >= 500 ? 'error' : 'refused',
        reason: problem.code,
        ...(typeof (request.params as Record<string, unknown> | undefined)?.credentialId === 'string'
          ? { credentialId: (request.params as { credentialId: string }).credentialId }
          : {}),
      })
      .catch((auditError: unknown) => request.log.error({ err: auditError }, 'audit append failed'));
  }
  return reply.status(problem.statusCode).send({ code: problem.code, message: problem.message, ...(problem.details ? { details: problem.details } : {}) });
}
