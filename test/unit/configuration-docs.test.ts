import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS, CONFIG_PATH_VARIABLE, ENV_VARIABLES } from '../../src/bootstrap/config/environment.js';
import { REPO_ROOT } from '../support/paths.js';

/*
 * Every setting lives in one schema; everything else that names settings is
 * checked against it here: the configuration table (docs/configuration.md) and
 * config/config.yaml (its keys and the variables its comments name). The
 * deployment files (.env.example, compose, Kubernetes) are checked in
 * deployment.test.ts against the same variables.
 */

const read = (file: string) => readFile(join(REPO_ROOT, file), 'utf8');
/** Variables the service reads outside the configuration: the models CLI's, and those OpenTelemetry's SDK reads itself. */
const OUTSIDE_CONFIG = new Set([
  'HF_ENDPOINT',
  'HF_TOKEN',
  'API_URL',
  ...['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TIMEOUT'],
]);

interface Row {
  readonly variables: string[];
  readonly key: string | undefined;
  readonly defaultValue: string;
}

function configurationTable(page: string): Row[] {
  const table = page.slice(page.indexOf('| Variable | Key |')).split('\n\n')[0]!;
  return table
    .split('\n')
    .slice(2)
    .filter((line) => line.startsWith('|'))
    .map((line) => {
      const [variables, key, defaultValue] = line.split('|').slice(1, 4).map((cell) => cell.trim());
      return {
        variables: [...variables!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!),
        key: /^`([a-z_.]+)`$/.exec(key!)?.[1],
        defaultValue: defaultValue!,
      };
    });
}

function valueAt(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree);
}

function formatted(value: unknown): string {
  if (typeof value === 'string') return `\`${value === '' ? '""' : value}\``;
  if (Array.isArray(value)) return `\`${JSON.stringify(value)}\``;
  return `\`${String(value)}\``;
}

describe('the configuration table in docs/configuration.md', () => {
  it('has one row per key, naming its variable and aliases and config.yaml’s default', async () => {
    const rows = configurationTable(await read('docs/configuration.md'));
    const defaults = parse(await read('config/config.yaml')) as unknown;
    for (const key of CONFIG_KEYS) {
      const matching = rows.filter((r) => r.key === key.path);
      expect(matching, key.path).toHaveLength(1);
      expect(matching[0]!.variables.sort(), key.path).toEqual([key.env, ...key.aliases].sort());
      expect(matching[0]!.defaultValue, key.path).toBe(formatted(valueAt(defaults, key.path)));
    }
  });

  it('names no key and no variable the service does not know', async () => {
    const rows = configurationTable(await read('docs/configuration.md'));
    const known = new Set(CONFIG_KEYS.map((k) => k.path));
    expect(rows.filter((r) => r.key !== undefined && !known.has(r.key)).map((r) => r.key)).toEqual([]);
    const variables = rows.flatMap((r) => r.variables);
    expect(variables.filter((v) => !ENV_VARIABLES.has(v) && !OUTSIDE_CONFIG.has(v))).toEqual([]);
    expect(variables).toContain(CONFIG_PATH_VARIABLE);
  });
});

describe('config/config.yaml', () => {
  it('names, beside each key, only that key’s own variable or one of its aliases', async () => {
    const lines = (await read('config/config.yaml')).split('\n');
    const problems: string[] = [];
    const parents: string[] = [];
    for (const line of lines) {
      const match = /^(\s*)([a-z_]+):([^#]*)(?:#\s*([A-Z][A-Z_]+)\b)?/.exec(line);
      if (!match) continue;
      const depth = match[1]!.length / 2;
      parents.length = depth;
      const path = [...parents, match[2]!].join('.');
      parents.push(match[2]!);
      const variable = match[4];
      if (!variable) continue;
      const key = CONFIG_KEYS.find((k) => k.path === path);
      if (!key || ![key.env, ...key.aliases].includes(variable)) problems.push(`${path}: ${variable}`);
    }
    expect(problems).toEqual([]);
  });
});
