import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/*
 * The only reader of configuration. Files give the defaults, environment
 * variables (named as users of the original service know them) override them,
 * and zod checks the result once, at start-up. A bad value stops the process
 * with a message naming every bad key.
 */

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().min(1);
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

export const MODES = ['api', 'worker', 'all'] as const;
export type Mode = (typeof MODES)[number];

const ServiceConfigSchema = z.strictObject({
  mode: z.enum(MODES),
  shutdown_grace_seconds: positiveInt,
  api: z.strictObject({
    host: z.string().min(1),
    port,
    body_limit_bytes: positiveInt,
    sync_timeout_seconds: positiveInt,
  }),
  limits: z.strictObject({ max_inputs: positiveInt, max_input_chars: positiveInt }),
  queue: z.strictObject({
    driver: z.enum(['auto', 'memory', 'rabbitmq']),
    max_length: positiveInt,
    publish_timeout_ms: positiveInt,
  }),
  store: z.strictObject({
    driver: z.enum(['auto', 'memory', 'redis']),
    ttl_seconds: positiveInt,
    max_tasks: positiveInt,
  }),
  worker: z.strictObject({
    models: z.array(z.string().min(1)),
    prefetch: positiveInt,
    max_attempts: positiveInt,
    batching: bool,
    max_batch_size: positiveInt,
    max_batch_tokens: positiveInt,
    batch_linger_ms: z.coerce.number().min(0).max(1_000),
    intra_op_threads: z.coerce.number().int().min(0),
    health_port: port,
    heartbeat_seconds: positiveInt,
  }).refine((w) => w.prefetch >= w.max_batch_size, {
    message: 'worker.prefetch must be at least worker.max_batch_size, or batches of single-text tasks can never fill',
    path: ['prefetch'],
  }),
  rabbitmq: z.strictObject({
    url: z.string(),
    host: z.string().min(1),
    port,
    user: z.string(),
    password: z.string(),
    vhost: z.string(),
  }),
  redis: z.strictObject({
    url: z.string(),
    host: z.string().min(1),
    port,
    password: z.string(),
    db: z.coerce.number().int().min(0),
    tls: bool,
    key_prefix: z.string(),
  }),
  elasticsearch: z.strictObject({
    scheme: z.enum(['http', 'https']),
    host: z.string(),
    port,
    data_stream: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, and . _ -'),
    batch_size: positiveInt,
    flush_interval_ms: positiveInt,
    max_buffered: positiveInt,
  }),
  logging: z.strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    handler: z.enum(['stdout', 'elasticsearch']),
  }),
  ml_config_path: z.string().min(1),
});

const ModelEntrySchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][\w.:-]*$/, 'letters, digits, and . _ : - only'),
    engine: z.enum(['onnx', 'use-lite']),
    path: z.string().min(1).optional(),
    queue: z.string().min(1).optional(),
    description: z.string().optional(),
    dimensions: positiveInt.optional(),
    max_tokens: positiveInt.optional(),
    pooling: z.enum(['mean', 'cls', 'max']).optional(),
    normalize: bool.optional(),
    output_dimensions: z.array(positiveInt).optional(),
  })
  .refine((m) => m.engine !== 'onnx' || m.path !== undefined, { message: 'an onnx model needs a path', path: ['path'] });

const MlConfigSchema = z
  .strictObject({
    default_model: z.string().min(1),
    models: z.array(ModelEntrySchema).min(1),
  })
  .superRefine((config, ctx) => {
    const ids = config.models.map((m) => m.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) ctx.addIssue({ code: 'custom', message: `duplicate model id '${id}'`, path: ['models', i, 'id'] });
    });
    if (!ids.includes(config.default_model)) {
      ctx.addIssue({ code: 'custom', message: `'${config.default_model}' is not a configured model`, path: ['default_model'] });
    }
  });

type ParsedServiceConfig = z.infer<typeof ServiceConfigSchema>;

/** The service configuration with `auto` drivers resolved for the mode. */
export type ServiceConfig = Omit<ParsedServiceConfig, 'queue' | 'store'> & {
  readonly queue: ParsedServiceConfig['queue'] & { readonly driver: 'memory' | 'rabbitmq' };
  readonly store: ParsedServiceConfig['store'] & { readonly driver: 'memory' | 'redis' };
};
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type MlConfig = z.infer<typeof MlConfigSchema>;

export interface AppConfig {
  readonly service: ServiceConfig;
  readonly ml: MlConfig;
}

/** Environment variable → config key. Values are strings; the schema coerces them. */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  MODE: 'mode',
  SHUTDOWN_GRACE_SECONDS: 'shutdown_grace_seconds',
  API_HOST: 'api.host',
  API_PORT: 'api.port',
  API_BODY_LIMIT_BYTES: 'api.body_limit_bytes',
  EMBEDDINGS_TIMEOUT_SECONDS: 'api.sync_timeout_seconds',
  MAX_INPUTS: 'limits.max_inputs',
  MAX_INPUT_CHARS: 'limits.max_input_chars',
  QUEUE_DRIVER: 'queue.driver',
  QUEUE_MAX_LENGTH: 'queue.max_length',
  QUEUE_PUBLISH_TIMEOUT_MS: 'queue.publish_timeout_ms',
  STORE_DRIVER: 'store.driver',
  TASK_TTL_SECONDS: 'store.ttl_seconds',
  STORE_MAX_TASKS: 'store.max_tasks',
  WORKER_MODELS: 'worker.models',
  WORKER_PREFETCH: 'worker.prefetch',
  WORKER_THREADS: 'worker.intra_op_threads',
  WORKER_HEALTH_PORT: 'worker.health_port',
  WORKER_HEARTBEAT_SECONDS: 'worker.heartbeat_seconds',
  TASK_MAX_ATTEMPTS: 'worker.max_attempts',
  WORKER_BATCHING: 'worker.batching',
  WORKER_MAX_BATCH_SIZE: 'worker.max_batch_size',
  WORKER_MAX_BATCH_TOKENS: 'worker.max_batch_tokens',
  WORKER_BATCH_LINGER_MS: 'worker.batch_linger_ms',
  AMQP_URL: 'rabbitmq.url',
  RABBITMQ_HOST: 'rabbitmq.host',
  RABBITMQ_PORT: 'rabbitmq.port',
  RABBITMQ_USER: 'rabbitmq.user',
  RABBITMQ_PASSWORD: 'rabbitmq.password',
  RABBITMQ_VHOST: 'rabbitmq.vhost',
  REDIS_URL: 'redis.url',
  REDIS_HOST: 'redis.host',
  REDIS_PORT: 'redis.port',
  REDIS_PASSWORD: 'redis.password',
  REDIS_DB: 'redis.db',
  REDIS_TLS: 'redis.tls',
  REDIS_KEY_PREFIX: 'redis.key_prefix',
  ELASTICSEARCH_SCHEME: 'elasticsearch.scheme',
  ELASTICSEARCH_HOST: 'elasticsearch.host',
  ELASTICSEARCH_PORT: 'elasticsearch.port',
  ELASTICSEARCH_DATA_STREAM: 'elasticsearch.data_stream',
  LOG_LEVEL: 'logging.level',
  LOGGER_HANDLER: 'logging.handler',
  ML_CONFIG_PATH: 'ml_config_path',
};

const LIST_KEYS = new Set(['worker.models']);

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the script name; `--mode X` overrides MODE. */
  readonly argv?: readonly string[];
  /** Directory that relative paths are resolved from. */
  readonly cwd?: string;
}

export function loadConfig(sources: ConfigSources): AppConfig {
  const cwd = sources.cwd ?? process.cwd();
  const configPath = resolvePath(cwd, sources.env.CONFIG_PATH ?? 'config/config.yaml');
  const raw = readYaml(configPath);
  const origins = new Map<string, string>();

  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = sources.env[name];
    if (value === undefined) continue;
    setPath(raw, key, LIST_KEYS.has(key) ? splitList(value) : value);
    origins.set(key, name);
  }
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
  return deepFreeze({ service: resolveDrivers(service.data), ml: { ...ml.data, models } });
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
  };
}

export function elasticsearchNode(config: ServiceConfig): string {
  const e = config.elasticsearch;
  return `${e.scheme}://${e.host}:${e.port}`;
}

/** The broker URL: `rabbitmq.url` (AMQP_URL) when set, else one built from its parts. */
export function amqpUrl(config: ServiceConfig): string {
  const r = config.rabbitmq;
  if (r.url) return r.url;
  const vhost = r.vhost === '/' ? '' : `/${encodeURIComponent(r.vhost)}`;
  return `amqp://${encodeURIComponent(r.user)}:${encodeURIComponent(r.password)}@${r.host}:${r.port}${vhost}`;
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

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!next || typeof next !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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
