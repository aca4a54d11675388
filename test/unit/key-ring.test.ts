import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryKeyRing, sha256Hex } from '../../src/adapters/memory/memory-key-ring.js';
import { ConfigError, loadConfig } from '../../src/bootstrap/config/load.js';
import { REPO_ROOT } from '../support/paths.js';

describe('MemoryKeyRing', () => {
  const ring = new MemoryKeyRing([
    { name: 'alice', admin: false, sha256: sha256Hex('sk-alice-0123456789') },
    { name: 'ops', admin: true, sha256: sha256Hex('sk-ops-0123456789') },
  ]);

  it('names the owner of a known key, and nobody for any other string', () => {
    expect(ring.identify('sk-alice-0123456789')).toEqual({ name: 'alice', admin: false });
    expect(ring.identify('sk-ops-0123456789')).toEqual({ name: 'ops', admin: true });
    for (const other of ['', 'sk-alice-012345678', 'sk-alice-0123456789 ', sha256Hex('sk-alice-0123456789')]) {
      expect(ring.identify(other), other).toBeUndefined();
    }
    expect(ring.open).toBe(false);
  });

  it('is open when it holds no key', () => {
    expect(new MemoryKeyRing([]).open).toBe(true);
  });
});

describe('the API keys file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keys-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const load = (env: Record<string, string>) => loadConfig({ env, cwd: REPO_ROOT });

  it('adds its keys to those of API_KEYS, holding only digests', async () => {
    const file = join(dir, 'good.yaml');
    await writeFile(file, `keys:\n  - { name: backend, sha256: ${sha256Hex('sk-backend-0123456789').toUpperCase()} }\n  - { name: ops, key: sk-ops-0123456789, admin: true }\n`);
    const { keys } = load({ API_KEYS: 'first-key,second-key', API_KEYS_FILE: file });
    expect(keys.map((k) => [k.name, k.admin])).toEqual([['key-1', false], ['key-2', false], ['backend', false], ['ops', true]]);
    expect(keys.map((k) => k.sha256)).toEqual(['first-key', 'second-key', 'sk-backend-0123456789', 'sk-ops-0123456789'].map(sha256Hex));
    expect(JSON.stringify(keys)).not.toContain('sk-ops-0123456789');
  });

  it('stops the start with a message naming each bad entry', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'keys:\n  - { name: both, key: sk-both-0123456789, sha256: abc }\n  - { name: short, key: tiny }\n  - { key: sk-nameless-0123456789 }\n');
    const error = (() => {
      try {
        load({ API_KEYS_FILE: file });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/keys\.0.*(sha256|either key or sha256)/);
    expect(problems).toMatch(/keys\.1\.key: a key needs at least 16 characters/);
    expect(problems).toMatch(/keys\.2\.name/);
    expect(() => load({ API_KEYS_FILE: join(dir, 'missing.yaml') })).toThrow(/cannot read/);
  });
});
