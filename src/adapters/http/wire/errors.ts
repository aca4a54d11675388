import { z } from '@hono/zod-openapi';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'Stable, machine-readable error code.' }),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** Error responses of the given statuses, all of one shape, for the OpenAPI document. */
export function errorResponses(statuses: readonly number[], description: string, mediaType: string, schema: z.ZodType) {
  return Object.fromEntries(statuses.map((status) => [status, { description, content: { [mediaType]: { schema } } }]));
}

/** Problem responses a route can return, for the OpenAPI document. */
export function problems(...statuses: number[]) {
  return errorResponses(statuses, 'A problem document', 'application/problem+json', ProblemSchema);
}

export const OpenAiErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .openapi('OpenAIError');

/** OpenAI-shaped error responses a route can return, for the OpenAPI document. */
export function openAiErrors(...statuses: number[]) {
  return errorResponses(statuses, 'An error, in OpenAI’s shape', 'application/json', OpenAiErrorSchema);
}

/** Cohere's error shape, `{ message }` (with this service's `code`), as Cohere's SDKs read it. */
export function cohereErrors(...statuses: number[]) {
  return errorResponses(statuses, 'An error, in Cohere’s shape', 'application/json', z.object({ message: z.string(), code: z.string() }));
}
