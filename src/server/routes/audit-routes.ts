// The audit chain over HTTP (audit:read): verify it, export it as JSON lines or CSV with filters.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import { jsonSchema } from './route-schema.ts';

const verificationAnswer = z.object({
  ok: z.boolean(),
  count: z.number().int(),
  headMac: z.string().nullable().optional(),
  checkpointsChecked: z.number().int().optional(),
  kind: z.string().optional(),
  seq: z.number().int().optional(),
  message: z.string().optional(),
});
const exportQuery = z.strictObject({
  format: z.enum(['jsonl', 'csv']).optional(),
  credentialId: z.string().min(1).max(64).optional(),
  actor: z.string().min(1).max(128).optional(),
  action: z.string().min(1).max(128).optional(),
  from: z.iso.datetime().optional(),
  to: z.iso.datetime().optional(),
});

export const auditRoutes: FastifyPluginAsync<{ auditLog: AuditLog }> = async (app, { auditLog }) => {
  const readAudit = { access: 'audit:read' as const };
  app.get('/audit/verify', { config: readAudit, schema: { tags: ['audit'], response: { 200: jsonSchema(verificationAnswer) } } }, async () => auditLog.verify());
  app.get(
    '/audit/events',
    { config: readAudit, schema: { tags: ['audit'], querystring: jsonSchema(exportQuery), response: { 200: { type: 'string' } } } },
    async (request, reply) => {
      const { format = 'jsonl', ...filter } = request.query as z.infer<typeof exportQuery>;
      const text = await auditLog.export(filter, format);
      return reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8').send(text);
    },
  );
};
