import type { Context } from 'hono';
import type { Allowance, EmbeddingsAnswer } from '../../../domain/index.js';
import type { HttpEnv } from '../types.js';

/**
 * What a synchronous route notes of the call that answered it, whatever its
 * family: the caller's tokens left (the rate-limit headers), and the call's
 * id (when one ran) and model (the access log and the metrics).
 */
export function answeredBy(c: Context<HttpEnv>, task: { readonly id?: string; readonly model: string }, tokens: Allowance | undefined): void {
  if (tokens) c.set('rateLimits', { ...c.get('rateLimits'), tokens });
  if (task.id !== undefined) c.set('taskId', task.id);
  c.set('model', task.model);
}

/** An embeddings answer: as `answeredBy`, and how many of its inputs the embedding cache answered (`x-embedding-cache-hits`). */
export function answeredWithEmbeddings(c: Context<HttpEnv>, answer: EmbeddingsAnswer): void {
  answeredBy(c, { model: answer.model, ...(answer.task && { id: answer.task.id }) }, answer.tokens);
  c.header('x-embedding-cache-hits', String(answer.cached));
}

/**
 * Whether a request asks not to be served from the embedding cache: the
 * body's `cache: false` (an extension field), or HTTP's own
 * `Cache-Control: no-cache` or `no-store`, which any client can send.
 */
export function noCache(c: Context<HttpEnv>, bodyCache?: boolean | null): boolean {
  return bodyCache === false || /\bno-(cache|store)\b/i.test(c.req.header('cache-control') ?? '');
}
