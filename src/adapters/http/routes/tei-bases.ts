import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { HttpEnv } from '../types.js';
import { MODEL_ID_MAX } from '../wire/common.js';
import { errorResponses } from '../wire/errors.js';

/**
 * Where TEI's routes are served: at the root for the default model (and the
 * default reranker's /rerank), and under `/tei/{model}` for each model, so
 * that a TEI client's base URL can name any of them.
 */
export const TEI_BASES = [
  { path: '', params: z.object({}) },
  { path: '/tei/{model}', params: z.object({ model: z.string().min(1).max(MODEL_ID_MAX).openapi({ param: { name: 'model', in: 'path' }, example: 'all-MiniLM-L6-v2' }) }) },
] as const;
export type TeiBase = (typeof TEI_BASES)[number];

const TeiErrorSchema = z.object({ error: z.string(), error_type: z.string(), code: z.string() }).openapi('TeiError');
/** TEI's error responses, `{ error, error_type }`, for the OpenAPI document. */
export const teiErrors = (...statuses: number[]) => errorResponses(statuses, 'An error, in TEI’s shape', 'application/json', TeiErrorSchema);

/** The model a route's path names; undefined at the root, where the default model answers. */
export function modelIn(c: Context<HttpEnv>): string | undefined {
  return c.req.param('model');
}

/** The routes that read TEI's `inputs` (/embed and the root route, at every base), which the body guard bounds as it bounds OpenAI's `input`. */
export function readsTeiInputs(path: string): boolean {
  return /^(\/|\/embed|\/tei\/[^/]+(\/embed)?)$/.test(path);
}
