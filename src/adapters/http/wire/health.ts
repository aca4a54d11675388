import { z } from '@hono/zod-openapi';

export const LivenessSchema = z.object({ status: z.literal('alive') }).openapi('Liveness');

export const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), z.object({ status: z.enum(['ok', 'failing']), detail: z.string().optional() })),
  })
  .openapi('Readiness');

