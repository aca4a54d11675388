import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { sha256Hex, type KeyEntry } from '../../adapters/memory/memory-key-ring.js';
import type { RateLimits } from '../../domain/index.js';
import { ConfigError } from './config-error.js';
import type { ServiceConfig } from './schema.js';

/*
 * The API keys file (API_KEYS_FILE), YAML or JSON:
 *
 *   keys:
 *     - name: search-backend          # who owns it: appears in logs, never the key
 *       sha256: 9f86d08…              # the key's sha256 in hex, so the file (a Secret) need not hold the key
 *       requests_per_minute: 600      # its own limits, instead of RATE_LIMIT_*; 0: none
 *       tokens_per_minute: 1000000
 *     - name: ops
 *       key: sk-…                     # or the key itself
 *       admin: true                   # sees every task
 */
const limit = z.number().int().min(0);
const KeyFileSchema = z.strictObject({
  keys: z.array(
    z
      .strictObject({
        name: z.string().min(1),
        key: z.string().min(16, 'a key needs at least 16 characters').optional(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'the hex sha256 of the key').optional(),
        admin: z.boolean().optional(),
        requests_per_minute: limit.optional(),
        tokens_per_minute: limit.optional(),
      })
      .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), { message: 'give either key or sha256' }),
  ),
});

/** The service's default limits (RATE_LIMIT_*), where 0 means none. */
export function defaultRateLimits(config: ServiceConfig): RateLimits {
  return rateLimits(config.rate_limit.requests_per_minute, config.rate_limit.tokens_per_minute);
}

function rateLimits(requestsPerMinute: number, tokensPerMinute: number): RateLimits {
  return {
    ...(requestsPerMinute > 0 && { requestsPerMinute }),
    ...(tokensPerMinute > 0 && { tokensPerMinute }),
  };
}

/** Every configured key: those in API_KEYS (named key-1, key-2, …) and those in the keys file. */
export function loadApiKeys(config: ServiceConfig): KeyEntry[] {
  const fromList = config.auth.api_keys.map((key, i) => ({ name: `key-${i + 1}`, admin: false, sha256: sha256Hex(key) }));
  const file = config.auth.api_keys_file;
  if (!file) return fromList;
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`auth.api_keys_file: cannot read ${file}: ${(error as Error).message}`]);
  }
  const parsed = KeyFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `auth.api_keys_file (${file}): ${i.path.join('.')}: ${i.message}`));
  }
  // A name is a task's owner: two keys under one name would see each other's tasks.
  const names = new Set(fromList.map((k) => k.name));
  for (const { name } of parsed.data.keys) {
    if (names.has(name)) throw new ConfigError([`auth.api_keys_file (${file}): the name '${name}' is given to two keys`]);
    names.add(name);
  }
  const { requests_per_minute: requests, tokens_per_minute: tokens } = config.rate_limit;
  const fromFile = parsed.data.keys.map((k) => ({
    name: k.name,
    admin: k.admin ?? false,
    sha256: (k.sha256 ?? sha256Hex(k.key!)).toLowerCase(),
    ...((k.requests_per_minute !== undefined || k.tokens_per_minute !== undefined) && {
      limits: rateLimits(k.requests_per_minute ?? requests, k.tokens_per_minute ?? tokens),
    }),
  }));
  return [...fromList, ...fromFile];
}
