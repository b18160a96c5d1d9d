// GET /api/v1/health: liveness for load balancers and the CLI, no secrets, no session.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { jsonSchema } from './route-schema.ts';

const healthAnswer = z.object({ status: z.literal('ok'), database: z.enum(['sqlite', 'postgres']) });

export const healthRoutes: FastifyPluginAsync<{ databaseKind: 'sqlite' | 'postgres' }> = async (app, options) => {
  app.get(
    '/health',
    { config: { access: 'public' }, schema: { tags: ['server'], response: { 200: jsonSchema(healthAnswer) } } },
    async () => ({ status: 'ok' as const, database: options.databaseKind }),
  );
};
