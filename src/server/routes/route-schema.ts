// Turns the zod schemas routes declare into the JSON schemas Fastify validates with and OpenAPI shows.
import { z } from 'zod';
import type { Permission } from '../domain/permissions.ts';
import type { Actor } from '../services/service-context.ts';

/** Who may call a route: anyone, any signed-in operator, or an operator whose role grants the permission. */
export type RouteAccess = 'public' | 'operator' | Permission;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}

// Unknown fields and wrong types are errors, never silently dropped or coerced; every problem is reported at once.
export const AJV_OPTIONS = { removeAdditional: false, coerceTypes: false, allErrors: true } as const;

export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return rest;
}

export const problemSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.array(z.object({ code: z.string(), message: z.string(), path: z.string().optional() })).optional(),
});

export const idParam = (name: string): z.ZodType => z.strictObject({ [name]: z.string().min(1).max(64) });

export const emptyBody = z.strictObject({});

export function actorOf(request: { actor: Actor | null }): Actor {
  // Routes that reach here declared an access other than 'public', so the auth hook has set the actor.
  return request.actor!;
}
