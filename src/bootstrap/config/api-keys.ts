import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { sha256Hex, type KeyEntry } from '../../adapters/memory/memory-key-ring.js';
import { ConfigError } from './config-error.js';
import type { ServiceConfig } from './schema.js';

/*
 * The API keys file (API_KEYS_FILE), YAML or JSON:
 *
 *   keys:
 *     - name: search-backend          # who owns it: appears in logs, never the key
 *       sha256: 9f86d08…              # the key's sha256 in hex, so the file (a Secret) need not hold the key
 *     - name: ops
 *       key: sk-…                     # or the key itself
 *       admin: true                   # sees every task
 */
const KeyFileSchema = z.strictObject({
  keys: z.array(
    z
      .strictObject({
        name: z.string().min(1),
        key: z.string().min(16, 'a key needs at least 16 characters').optional(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'the hex sha256 of the key').optional(),
        admin: z.boolean().optional(),
      })
      .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), { message: 'give either key or sha256' }),
  ),
});

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
  const fromFile = parsed.data.keys.map((k) => ({ name: k.name, admin: k.admin ?? false, sha256: (k.sha256 ?? sha256Hex(k.key!)).toLowerCase() }));
  return [...fromList, ...fromFile];
}
