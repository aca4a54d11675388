import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/bootstrap/config/load.js';
import { amqpUrls, redisConnection } from '../../src/bootstrap/modules/infrastructure.js';
import { REPO_ROOT } from '../support/paths.js';

const load = (env: Record<string, string> = {}, argv: string[] = []) => loadConfig({ env, argv, cwd: REPO_ROOT });

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads the shipped files: embedded mode on port 8000 with USE-lite as the default model', () => {
    const config = load();
    expect(config.service.mode).toBe('all');
    expect(config.service.api).toMatchObject({ host: '0.0.0.0', port: 8000 });
    expect(config.service.limits).toEqual({ max_inputs: 2048, max_input_chars: 50000, max_documents: 1000, max_text_tokens: 8192 });
    expect(config.ml.default_model).toBe('universal-sentence-encoder-lite');
    // onnxruntime's threads sleep when idle unless an operator chooses otherwise (BENCHMARKS.md, "Spinning").
    expect(config.service.worker.spinning).toBe(false);
    expect(config.ml.models.map((m) => m.id)).toEqual([
      'universal-sentence-encoder-lite',
      'all-MiniLM-L6-v2',
      'all-MiniLM-L12-v2',
    ]);
    // Relative model paths are resolved from the working directory.
    expect(config.ml.models[1]!.path).toBe(join(REPO_ROOT, 'models/all-MiniLM-L6-v2'));
  });

  it('takes several broker URLs, the nodes of a cluster, and refuses what is not one', () => {
    const urls = 'amqp://u:p@mq-0:5672, amqp://u:p@mq-1:5672,amqps://u:p@mq-2:5671/vh';
    expect(amqpUrls(load({ AMQP_URL: urls }).service)).toEqual(['amqp://u:p@mq-0:5672', 'amqp://u:p@mq-1:5672', 'amqps://u:p@mq-2:5671/vh']);
    expect(amqpUrls(load({ RABBITMQ_HOST: 'mq', RABBITMQ_USER: 'u', RABBITMQ_PASSWORD: 'p@ss' }).service)).toEqual(['amqp://u:p%40ss@mq:5672']);
    expect(problemsOf(() => load({ AMQP_URL: 'amqp://mq-0:5672,http://mq-1' })).join('\n')).toMatch(/AMQP_URL.*several separated by commas/);
  });

  it('points every Redis client at Sentinel when sentinels are named, with the data nodes’ password and db', () => {
    const config = load({ STORE_DRIVER: 'redis', REDIS_SENTINELS: 'sentinel-0:26379, sentinel-1:26379', REDIS_SENTINEL_NAME: 'tasks', REDIS_PASSWORD: 'p', REDIS_DB: '2', REDIS_WAIT_REPLICAS: '1' });
    expect(redisConnection(config)).toMatchObject({
      sentinel: { sentinels: [{ host: 'sentinel-0', port: 26379 }, { host: 'sentinel-1', port: 26379 }], name: 'tasks' },
      password: 'p',
      db: 2,
    });
    expect(config.service.redis.wait_replicas).toBe(1);
    expect(redisConnection(load({ REDIS_URL: 'redis://cache:6380' }))).toMatchObject({ url: 'redis://cache:6380' });
    expect(problemsOf(() => load({ REDIS_SENTINELS: 'sentinel-0' })).join('\n')).toMatch(/REDIS_SENTINELS.*host:port/);
  });

  it('lets the original service’s environment variables override the files', () => {
    const config = load({
      API_HOST: '127.0.0.1',
      API_PORT: '9001',
      RABBITMQ_HOST: 'mq',
      RABBITMQ_PORT: '5673',
      RABBITMQ_USER: 'u',
      RABBITMQ_PASSWORD: 'p',
      REDIS_HOST: 'cache',
      REDIS_PORT: '6380',
      REDIS_PASSWORD: 's3cret',
      ELASTICSEARCH_HOST: 'es',
      ELASTICSEARCH_PORT: '9201',
      LOG_LEVEL: 'debug',
      WORKER_MODELS: 'all-MiniLM-L6-v2, universal-sentence-encoder-lite',
      WORKER_SPINNING: 'true',
    });
    expect(config.service.api).toMatchObject({ host: '127.0.0.1', port: 9001 });
    expect(config.service.rabbitmq).toMatchObject({ host: 'mq', port: 5673, user: 'u', password: 'p' });
    expect(config.service.redis).toMatchObject({ host: 'cache', port: 6380, password: 's3cret' });
    expect(config.service.elasticsearch).toMatchObject({ host: 'es', port: 9201 });
    expect(config.service.logging.level).toBe('debug');
    expect(config.service.worker.models).toEqual(['all-MiniLM-L6-v2', 'universal-sentence-encoder-lite']);
    expect(config.service.worker.spinning).toBe(true);
  });

  it('takes the mode from --mode over MODE', () => {
    expect(load({ MODE: 'worker' }).service.mode).toBe('worker');
    expect(load({ MODE: 'worker' }, ['--mode', 'api']).service.mode).toBe('api');
    expect(load({}, ['--mode=all']).service.mode).toBe('all');
  });

  it('names every bad key at once, with the variable it came from', () => {
    const problems = problemsOf(() => load({ API_PORT: 'eighty', LOG_LEVEL: 'loud', MODE: 'both', MAX_INPUTS: '0' }));
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/api\.port \(from API_PORT\)/);
    expect(problems.join('\n')).toMatch(/logging\.level \(from LOG_LEVEL\)/);
    expect(problems.join('\n')).toMatch(/mode \(from MODE\)/);
    expect(problems.join('\n')).toMatch(/limits\.max_inputs \(from MAX_INPUTS\)/);
  });

  it('refuses a worker model that is not configured', () => {
    expect(problemsOf(() => load({ WORKER_MODELS: 'gpt-17' }))[0]).toMatch(/worker\.models.*gpt-17/);
  });

  it('refuses unknown keys, duplicate models and a default that is not configured', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const ml = join(dir, 'ml.yaml');
    await writeFile(
      ml,
      [
        'default_model: missing',
        'models:',
        '  - { id: a, engine: onnx, path: x }',
        '  - { id: a, engine: onnx }',
        '  - { id: b, engine: use-lite, colour: blue }',
      ].join('\n'),
    );
    const problems = problemsOf(() => load({ ML_CONFIG_PATH: ml })).join('\n');
    expect(problems).toMatch(/models\.1\.path.*needs a path/);
    expect(problems).toMatch(/models\.2.*colour/);

    await writeFile(ml, 'default_model: missing\nmodels:\n  - { id: a, engine: use-lite }\n  - { id: a, engine: use-lite }\n');
    const second = problemsOf(() => load({ ML_CONFIG_PATH: ml })).join('\n');
    expect(second).toMatch(/duplicate model id 'a'/);
    expect(second).toMatch(/default_model.*'missing' is not a configured model/);
  });

  it('takes a model’s kind, embedding unless it says reranker, and refuses what a reranker cannot be', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const ml = join(dir, 'ml.yaml');
    await writeFile(ml, ['default_model: e', 'default_reranker: r', 'models:', '  - { id: e, engine: use-lite }', '  - { id: r, kind: reranker, engine: onnx, path: x, max_tokens: 256 }'].join('\n'));
    const config = load({ ML_CONFIG_PATH: ml });
    expect(config.ml.models.map((m) => [m.id, m.kind])).toEqual([
      ['e', 'embedding'],
      ['r', 'reranker'],
    ]);
    expect(config.ml.default_reranker).toBe('r');

    await writeFile(
      ml,
      [
        'default_model: r',
        'default_reranker: e',
        'models:',
        '  - { id: e, engine: use-lite }',
        '  - { id: r, kind: reranker, engine: use-lite, pooling: cls, dimensions: 8 }',
        '  - { id: s, kind: scorer, engine: onnx, path: x }',
      ].join('\n'),
    );
    const problems = problemsOf(() => load({ ML_CONFIG_PATH: ml })).join('\n');
    expect(problems).toMatch(/models\.1\.engine.*a reranker runs on the onnx engine/);
    expect(problems).toMatch(/models\.1\.pooling.*a reranker has no pooling/);
    expect(problems).toMatch(/models\.1\.dimensions.*a reranker has no dimensions/);
    expect(problems).toMatch(/models\.2\.kind/);
  });

  it('takes a model’s prompts and default prompt name, and refuses a default that names none of them, or prompts on a reranker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const ml = join(dir, 'ml.yaml');
    await writeFile(ml, ['default_model: e', 'models:', "  - { id: e, engine: use-lite, prompts: { query: 'query: ', passage: 'passage: ' }, default_prompt_name: passage }"].join('\n'));
    expect(load({ ML_CONFIG_PATH: ml }).ml.models[0]).toMatchObject({ prompts: { query: 'query: ', passage: 'passage: ' }, default_prompt_name: 'passage' });
    await writeFile(
      ml,
      [
        'default_model: e',
        'models:',
        "  - { id: e, engine: use-lite, prompts: { query: 'query: ' }, default_prompt_name: passage }",
        "  - { id: r, kind: reranker, engine: onnx, path: x, prompts: { query: 'q: ' } }",
      ].join('\n'),
    );
    const problems = problemsOf(() => load({ ML_CONFIG_PATH: ml })).join('\n');
    expect(problems).toMatch(/models\.0\.default_prompt_name.*must name one of the prompts/);
    expect(problems).toMatch(/models\.1\.prompts.*a reranker has no prompts/);
  });

  it('takes what a model does with a text too long for it (long_text), and refuses another mode, or one on a reranker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const ml = join(dir, 'ml.yaml');
    await writeFile(ml, ['default_model: e', 'models:', '  - { id: e, engine: use-lite, long_text: error }', '  - { id: f, engine: use-lite }'].join('\n'));
    const models = load({ ML_CONFIG_PATH: ml }).ml.models;
    expect(models[0]).toMatchObject({ long_text: 'error' });
    expect(models[1]!.long_text).toBeUndefined();
    await writeFile(ml, ['default_model: e', 'models:', '  - { id: e, engine: use-lite, long_text: summarize }', '  - { id: r, kind: reranker, engine: onnx, path: x, long_text: error }'].join('\n'));
    const problems = problemsOf(() => load({ ML_CONFIG_PATH: ml })).join('\n');
    expect(problems).toMatch(/models\.0\.long_text/);
    expect(problems).toMatch(/models\.1\.long_text.*a reranker has no long_text/);
  });

  it('refuses a default model that is a reranker, and a default reranker that is not one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const ml = join(dir, 'ml.yaml');
    await writeFile(ml, ['default_model: r', 'default_reranker: e', 'models:', '  - { id: e, engine: use-lite }', '  - { id: r, kind: reranker, engine: onnx, path: x }'].join('\n'));
    const problems = problemsOf(() => load({ ML_CONFIG_PATH: ml })).join('\n');
    expect(problems).toMatch(/default_model.*'r' is a reranker/);
    expect(problems).toMatch(/default_reranker.*'e' is not a configured reranker/);
  });

  it('says which file it cannot read or parse', async () => {
    expect(problemsOf(() => load({ ML_CONFIG_PATH: '/nonexistent/ml.yaml' }))[0]).toMatch(/cannot read \/nonexistent\/ml\.yaml/);
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    await writeFile(join(dir, 'bad.yaml'), 'models: [unclosed');
    expect(problemsOf(() => load({ ML_CONFIG_PATH: join(dir, 'bad.yaml') }))[0]).toMatch(/bad\.yaml is not valid YAML/);
  });

  it('returns a frozen object', () => {
    const config = load();
    expect(Object.isFrozen(config.service.api)).toBe(true);
    expect(Object.isFrozen(config.ml.models[0])).toBe(true);
  });
});
