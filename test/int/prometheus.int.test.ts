import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { writeBertFolder } from '../support/bert-fixture.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { writeMlConfig } from '../support/ml-config.js';
import { testNamespace } from '../support/namespace.js';
import { distributedEnv, freePort, startProcess, untilServed, type ServiceProcess } from '../support/processes.js';
import { REPO_ROOT } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

/*
 * A real Prometheus (Debian's package; .ci/run installs it) scrapes a running
 * API and worker with the repository's own mlops/prometheus/prometheus.yml,
 * its targets pointed at 127.0.0.1, and answers through its HTTP query API.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());
const prometheusBinary = spawnSync('prometheus', ['--version']).status === 0 ? 'prometheus' : undefined;
if (!prometheusBinary) {
  if (process.env.REQUIRE_INFRA === '1') throw new Error('REQUIRE_INFRA=1 but the prometheus binary is not installed');
  console.warn('skipping Prometheus tests: no prometheus binary (apt-get install prometheus)');
}

describe.skipIf(!amqp || !store || !prometheusBinary)('Prometheus scraping the API and a worker', () => {
  const namespace = testNamespace('prom');
  let dir: string;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let prometheus: ChildProcess;
  let prometheusUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prom-'));
    const folder = await writeBertFolder(join(dir, 'bert'));
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert', [
      { id: 'bert', engine: 'onnx', path: folder, queue: namespace.queue('bert') },
    ]);
    const [apiPort, workerPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      ...distributedEnv({ mlConfig, amqpUrl: amqp!.url, redisUrl: store!.url, namespace, apiPort }),
      WORKER_HEALTH_PORT: String(workerPort),
    };
    api = startProcess(['--mode', 'api'], env);
    worker = startProcess(['--mode', 'worker'], env);
    await Promise.all([api.ready(apiPort), worker.ready(workerPort)]);
    await untilServed(apiPort, 'bert');
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`http://127.0.0.1:${apiPort}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bert', input: `scrape me ${i}` }),
      });
      expect(response.status).toBe(200);
    }

    // The repository's configuration, with its targets moved to this machine and a fast scrape.
    const config = parse(await readFile(join(REPO_ROOT, 'mlops/prometheus/prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    config.global.scrape_interval = '1s';
    const targets: Record<string, string> = {
      'embedding-api': `127.0.0.1:${apiPort}`,
      'embedding-worker': `127.0.0.1:${workerPort}`,
      rabbitmq: '127.0.0.1:15692',
    };
    for (const job of config.scrape_configs) job.static_configs = [{ targets: [targets[job.job_name]!] }];
    await writeFile(join(dir, 'prometheus.yml'), stringify(config));
    prometheusUrl = `http://127.0.0.1:${promPort}`;
    prometheus = spawn(
      prometheusBinary!,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      { stdio: 'ignore' },
    );
  }, 90_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await Promise.all([api?.stop(), worker?.stop()]);
    await namespace.cleanUp({ amqpUrl: amqp!.url, redisUrl: store!.url });
    await rm(dir, { recursive: true, force: true });
  });

  const query = async (promql: string) => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
    if (!response?.ok) return [];
    const body = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return body.data.result;
  };

  it('finds both targets up and reads the service’s series from each', async () => {
    await waitFor(async () => (await query('up{job=~"embedding-.*"} == 1')).length === 2, 30_000, 'both targets up');
    const requests = await query('sum(embedding_http_requests_total{job="embedding-api",route="/v1/embeddings"})');
    expect(Number(requests[0]!.value[1])).toBeGreaterThanOrEqual(5);
    await waitFor(async () => (await query('embedding_inference_batch_size_count{job="embedding-worker",model="bert"}')).length === 1, 10_000);
    const texts = await query('sum(embedding_inference_batch_size_sum{job="embedding-worker"})');
    expect(Number(texts[0]!.value[1])).toBeGreaterThanOrEqual(5);
    const depth = await query('embedding_queue_depth{job="embedding-api",model="bert"}');
    expect(depth[0]!.value[1]).toBe('0');
  });
});
