import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { loadApiKeys } from './api-keys.js';
import { ConfigError } from './config-error.js';
import { applyEnvironment, CONFIG_PATH_VARIABLE, setPath } from './environment.js';
import { MlConfigSchema, ServiceConfigSchema, type AppConfig, type ParsedServiceConfig, type ServiceConfig } from './schema.js';

/*
 * The only reader of configuration. Files give the defaults, environment
 * variables override them, and zod checks the result once, at start-up. A
 * bad value stops the process with a message naming every bad key.
 */

export { ConfigError };

export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the script name; `--mode X` overrides MODE. */
  readonly argv?: readonly string[];
  /** Directory that relative paths are resolved from. */
  readonly cwd?: string;
}

export function loadConfig(sources: ConfigSources): AppConfig {
  const cwd = sources.cwd ?? process.cwd();
  const configPath = resolvePath(cwd, sources.env[CONFIG_PATH_VARIABLE] ?? 'config/config.yaml');
  const raw = readYaml(configPath);
  const origins = applyEnvironment(raw, sources.env);
  const modeFlag = flagValue(sources.argv ?? [], '--mode');
  if (modeFlag !== undefined) {
    setPath(raw, 'mode', modeFlag);
    origins.set('mode', '--mode');
  }

  const service = ServiceConfigSchema.safeParse(raw);
  if (!service.success) throw new ConfigError(describe(service.error, configPath, origins));

  const mlPath = resolvePath(cwd, service.data.ml_config_path);
  const ml = MlConfigSchema.safeParse(readYaml(mlPath));
  if (!ml.success) throw new ConfigError(describe(ml.error, mlPath, new Map()));

  const models = ml.data.models.map((m) => ({ ...m, ...(m.path && { path: resolvePath(cwd, m.path) }) }));
  const unknownWorkerModels = service.data.worker.models.filter((id) => !models.some((m) => m.id === id));
  if (unknownWorkerModels.length > 0) {
    throw new ConfigError([`worker.models: not configured in ${mlPath}: ${unknownWorkerModels.join(', ')}`]);
  }
  const resolved = resolveDrivers(service.data);
  const keysFile = resolved.auth.api_keys_file && resolvePath(cwd, resolved.auth.api_keys_file);
  const withPaths = {
    ...resolved,
    auth: { ...resolved.auth, api_keys_file: keysFile },
    files: { ...resolved.files, dir: resolvePath(cwd, resolved.files.dir) },
  };
  return deepFreeze({ service: withPaths, ml: { ...ml.data, models }, keys: loadApiKeys(withPaths) });
}

/**
 * `auto` means: in-memory when API and worker share one process (mode `all`),
 * RabbitMQ and Redis when they run as separate processes, which is the only
 * way they can reach each other.
 */
function resolveDrivers(config: ParsedServiceConfig): ServiceConfig {
  const shared = config.mode !== 'all';
  const queueDriver = config.queue.driver === 'auto' ? (shared ? 'rabbitmq' : 'memory') : config.queue.driver;
  const storeDriver = config.store.driver === 'auto' ? (shared ? 'redis' : 'memory') : config.store.driver;
  const problems: string[] = [];
  if (shared && queueDriver === 'memory') {
    problems.push(`queue.driver: mode '${config.mode}' runs apart from its peers; an in-memory queue cannot reach them`);
  }
  if (shared && storeDriver === 'memory') {
    problems.push(`store.driver: mode '${config.mode}' runs apart from its peers; an in-memory store cannot reach them`);
  }
  if (config.logging.handler === 'elasticsearch' && !config.elasticsearch.host) {
    problems.push('elasticsearch.host: LOGGER_HANDLER=elasticsearch needs ELASTICSEARCH_HOST');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...config,
    queue: { ...config.queue, driver: queueDriver },
    store: { ...config.store, driver: storeDriver },
    // The cache lives where the tasks do: in this process, or in Redis, shared by every API replica.
    embedding_cache: { ...config.embedding_cache, driver: config.embedding_cache.driver === 'auto' ? storeDriver : config.embedding_cache.driver },
  };
}

function describe(error: z.ZodError, file: string, origins: ReadonlyMap<string, string>): string[] {
  return error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(root)';
    const origin = origins.get(key) ?? origins.get(issue.path.slice(0, 2).map(String).join('.'));
    const where = origin ? `from ${origin}` : `in ${file}`;
    const unknown = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
    return `${key} (${where}): ${issue.message}${unknown}`;
  });
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read ${file}: ${(error as Error).message}`]);
  }
  try {
    const value: unknown = parseYaml(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch (error) {
    throw new ConfigError([`${file} is not valid YAML: ${(error as Error).message}`]);
  }
}

function flagValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === flag) return argv[i + 1];
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return undefined;
}

function resolvePath(cwd: string, path: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
