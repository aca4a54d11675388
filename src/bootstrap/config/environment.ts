import { z } from 'zod';
import { ServiceConfigSchema } from './schema.js';

/*
 * Environment variables are named after the configuration's key paths:
 * `api.port` is API_PORT, `worker.max_batch_size` WORKER_MAX_BATCH_SIZE.
 * ENV_ALIASES keeps working the names users already rely on: those of the
 * original Python service and those this service documented before the
 * names were derived. When a derived name and an alias of the same key are
 * both set, the derived name wins.
 */

export const ENV_ALIASES: Readonly<Record<string, string>> = {
  AMQP_URL: 'rabbitmq.url',
  EMBEDDINGS_TIMEOUT_SECONDS: 'api.sync_timeout_seconds',
  MAX_INPUTS: 'limits.max_inputs',
  MAX_INPUT_CHARS: 'limits.max_input_chars',
  MAX_DOCUMENTS: 'limits.max_documents',
  MAX_TEXT_TOKENS: 'limits.max_text_tokens',
  TASK_TTL_SECONDS: 'store.ttl_seconds',
  TASK_MAX_ATTEMPTS: 'worker.max_attempts',
  WORKER_THREADS: 'worker.intra_op_threads',
  LOG_LEVEL: 'logging.level',
  LOGGER_HANDLER: 'logging.handler',
  API_KEYS: 'auth.api_keys',
  API_KEYS_FILE: 'auth.api_keys_file',
  METRICS_TOKEN: 'auth.metrics_token',
  MAX_QUEUE_WAIT_SECONDS: 'queue.max_wait_seconds',
  FLOWER_USER: 'console.user',
  FLOWER_PASSWORD: 'console.password',
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'batches.webhook_allow_private_targets',
  EMBEDDING_CACHE: 'embedding_cache.driver',
  // OpenTelemetry's own names, which every OTLP exporter reads.
  OTEL_EXPORTER_OTLP_ENDPOINT: 'tracing.endpoint',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'tracing.traces_endpoint',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'tracing.protocol',
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'tracing.traces_protocol',
};

/** Read by the loader itself, before there is a configuration: where config.yaml is. */
export const CONFIG_PATH_VARIABLE = 'CONFIG_PATH';

export interface ConfigKey {
  /** The key path in config.yaml, e.g. `worker.max_batch_size`. */
  readonly path: string;
  /** Its environment variable, derived from the path. */
  readonly env: string;
  /** Other variables that set it. */
  readonly aliases: readonly string[];
  /** A list, given in the environment as comma-separated values. */
  readonly list: boolean;
}

export function envName(path: string): string {
  return path.replaceAll('.', '_').toUpperCase();
}

function leaves(shape: Readonly<Record<string, z.ZodType>>, prefix = ''): { path: string; list: boolean }[] {
  return Object.entries(shape).flatMap(([name, schema]) => {
    const path = `${prefix}${name}`;
    if (schema instanceof z.ZodObject) return leaves(schema.shape as Record<string, z.ZodType>, `${path}.`);
    return [{ path, list: schema instanceof z.ZodArray }];
  });
}

/** Every key of the service configuration, with the variables that set it. */
export const CONFIG_KEYS: readonly ConfigKey[] = leaves(ServiceConfigSchema.shape).map(({ path, list }) => ({
  path,
  env: envName(path),
  aliases: Object.keys(ENV_ALIASES).filter((alias) => ENV_ALIASES[alias] === path),
  list,
}));

/** Every variable the configuration reads. */
export const ENV_VARIABLES: ReadonlySet<string> = new Set([
  CONFIG_PATH_VARIABLE,
  ...CONFIG_KEYS.flatMap((key) => [key.env, ...key.aliases]),
]);

/**
 * Writes the environment's values into `raw` (the parsed config.yaml) and
 * returns, for each key it set, the variable it came from (for error messages).
 */
export function applyEnvironment(
  raw: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): Map<string, string> {
  const origins = new Map<string, string>();
  for (const key of CONFIG_KEYS) {
    const name = [key.env, ...key.aliases].find((n) => env[n] !== undefined);
    if (name === undefined) continue;
    const value = env[name]!;
    setPath(raw, key.path, key.list ? splitList(value) : value);
    origins.set(key.path, name);
  }
  return origins;
}

export function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
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
