import { z } from 'zod';
import type { KeyEntry } from '../../adapters/memory/memory-key-ring.js';
import { LONG_TEXT_MODES, MODEL_KINDS } from '../../domain/index.js';

/*
 * What the configuration may say, in one place: the service's keys (from
 * config/config.yaml, overridden by the environment) and the models file.
 * Environment variable names are derived from these key paths (see
 * environment.ts), so a key added here is configurable at once.
 */

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().min(1);
/** A count where 0 means "no limit". */
const limit = z.coerce.number().int().min(0);
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

export const MODES = ['api', 'worker', 'all'] as const;
export type Mode = (typeof MODES)[number];

/** OTLP over HTTP, as protobuf or JSON; gRPC is not offered. */
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;

export const ServiceConfigSchema = z.strictObject({
  mode: z.enum(MODES),
  deployment: z.strictObject({
    namespace: z.string().regex(/^([a-z0-9][a-z0-9_-]*)?$/, 'lower-case letters, digits, _ and -, or empty'),
  }),
  shutdown_grace_seconds: positiveInt,
  api: z.strictObject({
    host: z.string().min(1),
    port,
    body_limit_bytes: positiveInt,
    sync_timeout_seconds: positiveInt,
    headers_timeout_seconds: positiveInt,
    request_timeout_seconds: positiveInt,
  }).refine((a) => a.request_timeout_seconds >= a.headers_timeout_seconds, {
    message: 'api.request_timeout_seconds covers the headers too, so it must be at least api.headers_timeout_seconds',
    path: ['request_timeout_seconds'],
  }),
  limits: z.strictObject({ max_inputs: positiveInt, max_input_chars: positiveInt, max_documents: positiveInt, max_text_tokens: positiveInt }),
  auth: z.strictObject({
    api_keys: z.array(z.string().min(1)),
    api_keys_file: z.string(),
    metrics_token: z.string(),
  }),
  cors: z.strictObject({ origins: z.array(z.string().min(1)) }),
  console: z.strictObject({ user: z.string(), password: z.string() }),
  rate_limit: z.strictObject({ requests_per_minute: limit, tokens_per_minute: limit }),
  queue: z.strictObject({
    driver: z.enum(['auto', 'memory', 'rabbitmq']),
    max_length: positiveInt,
    max_wait_seconds: limit,
    publish_timeout_ms: positiveInt,
    coalesce_calls: bool,
    type: z.enum(['classic', 'quorum']),
    delivery_limit: positiveInt,
  }),
  store: z.strictObject({
    driver: z.enum(['auto', 'memory', 'redis']),
    ttl_seconds: positiveInt,
    max_tasks: positiveInt,
  }),
  embedding_cache: z.strictObject({
    driver: z.enum(['auto', 'off', 'memory', 'redis']),
    max_bytes: positiveInt,
    ttl_seconds: positiveInt,
  }),
  files: z.strictObject({
    dir: z.string().min(1),
    max_bytes: positiveInt,
    max_lines: positiveInt,
    ttl_seconds: positiveInt,
  }),
  batches: z.strictObject({
    chunk_inputs: positiveInt,
    in_flight_chunks: positiveInt,
    webhook_url: z.string(),
    webhook_secret: z.string(),
    webhook_allow_private_targets: bool,
  }),
  worker: z.strictObject({
    models: z.array(z.string().min(1)),
    prefetch: positiveInt,
    max_attempts: positiveInt,
    batching: bool,
    max_batch_size: positiveInt,
    bulk_batch_size: positiveInt,
    max_batch_tokens: positiveInt,
    batch_linger_ms: z.coerce.number().min(0).max(1_000),
    intra_op_threads: z.coerce.number().int().min(0),
    spinning: bool,
    health_port: port,
    heartbeat_seconds: positiveInt,
  }).refine((w) => w.prefetch >= w.max_batch_size, {
    message: 'worker.prefetch must be at least worker.max_batch_size, or batches of single-text tasks can never fill',
    path: ['prefetch'],
  }),
  rabbitmq: z.strictObject({
    url: z.string().refine((value) => value === '' || value.split(',').every((url) => /^amqps?:\/\/\S+$/.test(url.trim())), {
      message: 'one amqp:// or amqps:// URL, or several separated by commas (the nodes of a cluster)',
    }),
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
    command_timeout_ms: positiveInt,
    sentinels: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port')),
    sentinel_name: z.string().min(1),
    sentinel_password: z.string(),
    wait_replicas: z.coerce.number().int().min(0),
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
  tracing: z.strictObject({
    endpoint: z.union([z.literal(''), z.url()]),
    traces_endpoint: z.union([z.literal(''), z.url()]),
    protocol: z.enum(OTLP_PROTOCOLS),
    traces_protocol: z.union([z.literal(''), z.enum(OTLP_PROTOCOLS)]),
  }),
  ml_config_path: z.string().min(1),
});

const EMBEDDING_ONLY = ['dimensions', 'pooling', 'normalize', 'output_dimensions', 'prompts', 'default_prompt_name', 'long_text', 'max_text_tokens'] as const;

const ModelEntrySchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][\w.:-]*$/, 'letters, digits, and . _ : - only'),
    /** `reranker`: a sentence-transformers CrossEncoder export, scoring (query, document) pairs. */
    kind: z.enum(MODEL_KINDS).default('embedding'),
    engine: z.enum(['onnx', 'use-lite']),
    path: z.string().min(1).optional(),
    /** The ONNX graph inside `path`, when not `model.onnx` or `onnx/model.onnx`: `onnx/model_quantized.onnx` for an int8 variant. */
    onnx_file: z.string().min(1).optional(),
    queue: z.string().min(1).optional(),
    description: z.string().optional(),
    dimensions: positiveInt.optional(),
    max_tokens: positiveInt.optional(),
    pooling: z.enum(['mean', 'cls', 'max']).optional(),
    normalize: bool.optional(),
    output_dimensions: z.array(positiveInt).optional(),
    /** sentence-transformers' `prompts`: prefixes by name, applied by `prompt_name` or `input_type`. */
    prompts: z.record(z.string().min(1), z.string()).optional(),
    default_prompt_name: z.string().min(1).optional(),
    /** What a text too long for the model gets when its request does not say: cut (`truncate`, the default) or refused (`error`, a 422). */
    long_text: z.enum(LONG_TEXT_MODES).optional(),
    /** Most tokens of a text embedded whole (`long_text: pool | chunks`); the service's `limits.max_text_tokens` when absent. */
    max_text_tokens: positiveInt.optional(),
  })
  .refine((m) => m.engine !== 'onnx' || m.path !== undefined, { message: 'an onnx model needs a path', path: ['path'] })
  .refine((m) => m.engine === 'onnx' || m.onnx_file === undefined, { message: 'only an onnx model has an onnx_file', path: ['onnx_file'] })
  .refine((m) => m.default_prompt_name === undefined || Object.hasOwn(m.prompts ?? {}, m.default_prompt_name), {
    message: 'default_prompt_name must name one of the prompts',
    path: ['default_prompt_name'],
  })
  .superRefine((m, ctx) => {
    if (m.kind !== 'reranker') return;
    if (m.engine !== 'onnx') ctx.addIssue({ code: 'custom', message: 'a reranker runs on the onnx engine', path: ['engine'] });
    for (const key of EMBEDDING_ONLY) {
      if (m[key] !== undefined) ctx.addIssue({ code: 'custom', message: `a reranker has no ${key}: it scores pairs, it makes no vectors`, path: [key] });
    }
  });

export const MlConfigSchema = z
  .strictObject({
    default_model: z.string().min(1),
    /** The reranker a rerank request that names none gets (TEI's /rerank names none); else the first reranker. */
    default_reranker: z.string().min(1).optional(),
    models: z.array(ModelEntrySchema).min(1),
  })
  .superRefine((config, ctx) => {
    const ids = config.models.map((m) => m.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) ctx.addIssue({ code: 'custom', message: `duplicate model id '${id}'`, path: ['models', i, 'id'] });
    });
    const kindOf = (id: string) => config.models.find((m) => m.id === id)?.kind;
    if (!ids.includes(config.default_model)) {
      ctx.addIssue({ code: 'custom', message: `'${config.default_model}' is not a configured model`, path: ['default_model'] });
    } else if (kindOf(config.default_model) !== 'embedding') {
      ctx.addIssue({ code: 'custom', message: `'${config.default_model}' is a reranker; the default model makes embeddings`, path: ['default_model'] });
    }
    if (config.default_reranker !== undefined && kindOf(config.default_reranker) !== 'reranker') {
      ctx.addIssue({ code: 'custom', message: `'${config.default_reranker}' is not a configured reranker`, path: ['default_reranker'] });
    }
  });

export type ParsedServiceConfig = z.infer<typeof ServiceConfigSchema>;

/** The service configuration with `auto` drivers resolved for the mode. */
export type ServiceConfig = Omit<ParsedServiceConfig, 'queue' | 'store' | 'embedding_cache'> & {
  readonly queue: ParsedServiceConfig['queue'] & { readonly driver: 'memory' | 'rabbitmq' };
  readonly store: ParsedServiceConfig['store'] & { readonly driver: 'memory' | 'redis' };
  readonly embedding_cache: ParsedServiceConfig['embedding_cache'] & { readonly driver: 'off' | 'memory' | 'redis' };
};
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type MlConfig = z.infer<typeof MlConfigSchema>;
/** ml_config.yaml as written, before defaults (a model's `kind`) are filled in. */
export type MlConfigInput = z.input<typeof MlConfigSchema>;
export type ModelEntryInput = z.input<typeof ModelEntrySchema>;

export interface AppConfig {
  readonly service: ServiceConfig;
  readonly ml: MlConfig;
  /** The API keys, from `auth.api_keys` and the keys file, as digests. */
  readonly keys: readonly KeyEntry[];
}

