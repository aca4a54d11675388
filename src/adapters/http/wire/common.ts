import { z } from '@hono/zod-openapi';

/*
 * The wire format, one file per resource under wire/: the zod schemas that
 * validate requests and generate /openapi.json, and the one serializer that
 * turns each domain object into its JSON. Names are snake_case, as OpenAI's
 * API and most embedding services spell them.
 */

/** The OpenAPI name of the bearer scheme that /v1 routes declare (app.ts registers it). */
export const API_KEY_SCHEME = 'apiKey';
/** What a /v1 route declares: it needs an API key when the service has keys. */
export const NEEDS_API_KEY = [{ [API_KEY_SCHEME]: [] }];
/** The OpenAPI name of the console's basic-auth scheme. */
export const CONSOLE_SCHEME = 'consoleBasic';
/** What a /console route declares: the console's credentials, or an admin API key. */
export const NEEDS_CONSOLE_ACCESS: Record<string, string[]>[] = [{ [CONSOLE_SCHEME]: [] }, { [API_KEY_SCHEME]: [] }];

/** Longer than any model id the configuration allows to be useful; keeps an absurd one out of error messages. */
export const MODEL_ID_MAX = 256;

/** A time as OpenAI's objects give it: whole Unix seconds. */
export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** An id in a path: bounded, so that an absurd one never reaches a store's key. */
export const IdParamSchema = z.object({
  id: z.string().min(1).max(128).openapi({ param: { name: 'id', in: 'path' } }),
});

/** OpenAI's cursor pagination: `after` an id, at most `limit` items. */
export function pageQuery(maxLimit: number, defaultLimit: number) {
  return z.object({
    limit: z.coerce.number().int().min(1).max(maxLimit).default(defaultLimit).openapi({ param: { name: 'limit', in: 'query' } }),
    after: z.string().min(1).max(128).optional().openapi({ param: { name: 'after', in: 'query' }, description: 'The id of the last item of the previous page.' }),
  });
}

/** OpenAI's list object over a page of `item`s. */
export function listSchema<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({ object: z.literal('list'), data: z.array(item), first_id: z.string().nullable(), last_id: z.string().nullable(), has_more: z.boolean() })
    .openapi(name);
}

/**
 * One page of OpenAI's list object. `fetched` was asked for one more item
 * than `limit`: that one, if it came, says there is more.
 */
export function listPage<T, J extends { id: string }>(fetched: readonly T[], limit: number, serialize: (item: T) => J) {
  const data = fetched.slice(0, limit).map(serialize);
  return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: fetched.length > limit };
}
