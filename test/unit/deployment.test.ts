import { execFileSync, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { callsQueueOf, queueNameOf } from '../../src/adapters/rabbitmq/rabbitmq-task-queue.js';
import { highQueueOf } from '../../src/adapters/rabbitmq/topology.js';
import { CONFIG_KEYS, ENV_VARIABLES } from '../../src/bootstrap/config/environment.js';
import { loadConfig } from '../../src/bootstrap/config/load.js';
import { REPO_ROOT } from '../support/paths.js';

/*
 * Checks of the deployment files that run without a container engine: they
 * parse, every variable they give the service is one its configuration
 * knows, and the ports, health paths and queue names they name are the
 * service's.
 */

/** Variables the service reads: the configuration's, and the few read outside it. */
const KNOWN = new Set([
  ...ENV_VARIABLES,
  'HF_ENDPOINT',
  'HF_TOKEN',
  'NODE_ENV',
  // OpenTelemetry's SDK reads these itself; the manifests set the resource's, from the pod's own names.
  'OTEL_RESOURCE_ATTRIBUTES',
  'K8S_POD_NAME',
  'K8S_NAMESPACE_NAME',
]);
/** Variables only compose itself interpolates (image name, third-party services' secrets). */
const COMPOSE_ONLY = new Set([
  'IMAGE',
  'GRAFANA_ADMIN_USER',
  'GRAFANA_ADMIN_PASSWORD',
  'REDIS_MAXMEMORY',
  // The host ports the stack publishes on, apart from the ports its services dial inside the network.
  'RABBITMQ_PUBLISHED_PORT',
  'RABBITMQ_MANAGEMENT_PORT',
  'RABBITMQ_METRICS_PORT',
  'REDIS_PUBLISHED_PORT',
  'PROMETHEUS_PORT',
  'JAEGER_UI_PORT',
  'JAEGER_OTLP_PORT',
  // compose.ha.yaml: the secret the RabbitMQ nodes share.
  'RABBITMQ_ERLANG_COOKIE',
]);
const config = loadConfig({ env: {}, cwd: REPO_ROOT });

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, unknown>;
  ports?: string[];
  healthcheck?: { test: string[] };
}
const read = (file: string) => readFile(join(REPO_ROOT, file), 'utf8');
const compose = async (file: string) => parse(await read(file), { merge: true }) as { services: Record<string, ComposeService> };
/** The services built from this repository's image. */
const ours = (services: Record<string, ComposeService>) =>
  Object.entries(services).filter(([, s]) => s.build !== undefined || s.image?.includes('embedding-service'));

/** The variables a set of services sets that the service does not know. */
function unknownVariables(services: Record<string, ComposeService>): string[] {
  return ours(services).flatMap(([name, s]) => Object.keys(s.environment ?? {}).filter((v) => !KNOWN.has(v)).map((v) => `${name}: ${v}`));
}

describe('compose files', () => {
  it('parse, and compose.yaml includes the three parts', async () => {
    const root = parse(await read('compose.yaml')) as { include: string[] };
    expect(root.include).toEqual(['compose.rr.yaml', 'compose.api.yaml', 'compose.mo.yaml']);
    for (const file of root.include) expect(Object.keys((await compose(file)).services).length).toBeGreaterThan(0);
  });

  it('set no variable the service does not know, and a misspelt one is caught', async () => {
    const api = await compose('compose.api.yaml');
    expect(ours(api.services).map(([name]) => name)).toEqual(['api', 'worker-use-lite', 'worker-minilm-l6', 'worker-minilm-l12']);
    expect(unknownVariables(api.services)).toEqual([]);
    const misspelt = (await read('compose.api.yaml')).replace('REDIS_HOST:', 'REDIS_HOTS:');
    expect(unknownVariables((parse(misspelt, { merge: true }) as { services: Record<string, ComposeService> }).services)).toContain(
      'api: REDIS_HOTS',
    );
  });

  it('give every service a health check, and wait on health before starting the service', async () => {
    for (const file of ['compose.rr.yaml', 'compose.api.yaml', 'compose.mo.yaml']) {
      for (const [name, service] of Object.entries((await compose(file)).services)) {
        expect(service.healthcheck?.test, `${file}: ${name}`).toBeDefined();
      }
    }
    const api = (await compose('compose.api.yaml')).services.api as ComposeService & { depends_on: Record<string, { condition: string }> };
    expect(api.depends_on.rabbitmq!.condition).toBe('service_healthy');
    expect(api.depends_on.redis!.condition).toBe('service_healthy');
  });

  it('probe the ports and health paths the service serves, and write no secret', async () => {
    const { services } = await compose('compose.api.yaml');
    expect(services.api!.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${config.service.api.port}/health/ready`);
    expect(services.api!.ports).toEqual([`\${API_PORT:-8000}:${config.service.api.port}`]);
    for (const [name, worker] of ours(services).filter(([n]) => n.startsWith('worker-'))) {
      expect(worker.healthcheck!.test.join(' '), name).toContain(`127.0.0.1:${config.service.worker.health_port}/health/ready`);
      expect(worker.environment!.WORKER_HEALTH_PORT).toBe(config.service.worker.health_port);
      expect(config.ml.models.map((m) => m.id)).toContain(worker.environment!.WORKER_MODELS);
    }
    for (const file of ['compose.rr.yaml', 'compose.api.yaml', 'compose.mo.yaml']) {
      expect(await read(file)).not.toMatch(/PASSWORD:\s+[^$\s{]/);
      // podman-compose (1.0.3) substitutes `${VAR:-default}` only with a default: `${VAR:-}` reaches the service as written.
      expect(await read(file), file).not.toMatch(/:\s+\$\{[A-Z_]+:-\}/);
    }
  });

  it('bound Redis’s memory with a policy that never evicts a live task', async () => {
    const redis = (await compose('compose.rr.yaml')).services.redis as ComposeService & { command: string[] };
    const command = redis.command.join(' ');
    expect(command).toMatch(/--maxmemory "\$\$REDIS_MAXMEMORY"/);
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.environment!.REDIS_MAXMEMORY).toBe('${REDIS_MAXMEMORY:-1gb}');
  });

  it('have Prometheus scrape the ports the service serves metrics on', async () => {
    const prometheus = parse(await read('mlops/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(prometheus.scrape_configs.map((j) => [j.job_name, j.static_configs[0]!.targets]));
    expect(targets['embedding-api']).toEqual([`api:${config.service.api.port}`]);
    const workers = ours((await compose('compose.api.yaml')).services).filter(([n]) => n.startsWith('worker-'));
    expect(targets['embedding-worker']).toEqual(workers.map(([n]) => `${n}:${config.service.worker.health_port}`));
  });
});

describe('.env.example', () => {
  it('publishes ports on variables of their own, so that moving one on the host leaves the port the services dial alone', async () => {
    const dialed = /\$\{(RABBITMQ_PORT|REDIS_PORT)\b/;
    for (const file of ['compose.rr.yaml', 'compose.mo.yaml']) {
      for (const [name, service] of Object.entries((await compose(file)).services)) {
        for (const port of service.ports ?? []) expect(port, `${file} ${name}`).not.toMatch(dialed);
      }
    }
  });

  it('run, in compose.ha.yaml, three clustered RabbitMQ nodes, a Redis primary and replica with the append-only file, three sentinels, and point every service at them', async () => {
    const ha = parse(await read('compose.ha.yaml'), { merge: true }) as { include: (string | { path: string[] })[]; services: Record<string, ComposeService & { command?: string[] }> };
    expect(Object.keys(ha.services)).toEqual(['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3', 'redis-1', 'redis-2', 'redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3']);
    const cluster = await read('deploy/compose/rabbitmq-cluster.conf');
    for (const node of ['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3']) {
      expect(cluster).toContain(`rabbit@${node}`);
      expect(JSON.stringify(ha.services[node])).toContain('deploy/compose/rabbitmq-cluster.conf:/etc/rabbitmq/conf.d/');
    }
    for (const node of ['redis-1', 'redis-2']) expect(ha.services[node]!.command!.join(' ')).toMatch(/--appendonly yes --appendfsync everysec/);
    expect(ha.services['redis-2']!.command!.join(' ')).toContain('--replicaof redis-1 6379');
    for (const sentinel of ['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3']) expect(ha.services[sentinel]!.command!.join(' ')).toContain('sentinel monitor primary redis-1 6379 2');

    // compose.api.yaml's services, with the settings merged over them.
    const [services] = ha.include as [{ path: string[] }];
    expect(services.path[0]).toBe('compose.api.yaml');
    const api = await compose('compose.api.yaml');
    const overrides = (await compose(services.path[1]!)).services;
    expect(Object.keys(overrides)).toEqual(ours(api.services).map(([name]) => name));
    for (const [name, override] of Object.entries(overrides)) {
      const environment = override.environment!;
      expect(Object.keys(environment).filter((v) => !KNOWN.has(v)), name).toEqual([]);
      expect(environment, name).toMatchObject({ QUEUE_TYPE: 'quorum', REDIS_SENTINEL_NAME: 'primary', REDIS_WAIT_REPLICAS: 1 });
      expect(String(environment.AMQP_URL).split(',').map((url) => new URL(url).host)).toEqual(['rabbitmq-1:5672', 'rabbitmq-2:5672', 'rabbitmq-3:5672']);
      expect(String(environment.REDIS_SENTINELS).split(',')).toHaveLength(3);
    }
  });

  it('lists every variable the configuration knows, and no other but compose’s own', async () => {
    const names = (await read('.env.example'))
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0]!);
    for (const key of CONFIG_KEYS) expect(names.filter((n) => [key.env, ...key.aliases].includes(n)), key.path).toHaveLength(1);
    expect(names.filter((n) => !KNOWN.has(n) && !COMPOSE_ONLY.has(n))).toEqual([]);
  });
});

describe('Dockerfile', () => {
  it('runs as a non-root user under an init process, with a health check on the mode’s port', async () => {
    const dockerfile = await read('Dockerfile');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "dist\/bootstrap\/main.js"\]/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health\/live/);
    expect(dockerfile).toContain(`API_PORT=${config.service.api.port}`);
    expect(dockerfile).toContain(`WORKER_HEALTH_PORT=${config.service.worker.health_port}`);
  });
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (!kubectl) console.warn('skipping the kustomize rendering tests: no kubectl (Debian: kubernetes-client)');

describe.skipIf(!kubectl)('Kubernetes (kubectl kustomize)', () => {
  interface K8sObject {
    kind: string;
    metadata: { name: string; namespace?: string };
    spec?: Record<string, unknown>;
    data?: Record<string, string>;
  }
  interface Container {
    env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
    ports?: { name: string; containerPort: number }[];
    livenessProbe?: { httpGet: { path: string; port: string } };
    readinessProbe?: { httpGet: { path: string; port: string } };
  }
  const render = (overlay = 'example') =>
    parseAllDocuments(
      execFileSync('kubectl', ['kustomize', join(REPO_ROOT, 'deploy/k8s/overlays', overlay)], {
        encoding: 'utf8',
      }),
    ).map((d) => d.toJSON() as K8sObject);
  const containerOf = (o: K8sObject) =>
    (o.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;

  it('renders the overlay: the API with its Service, HPA and PDB; a worker Deployment, ScaledObject and PDB per model', () => {
    const objects = render();
    const names = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();
    expect(names('Deployment')).toEqual(['embedding-api', 'worker-minilm-l12', 'worker-minilm-l6', 'worker-use-lite']);
    expect(names('ScaledObject')).toEqual(['worker-minilm-l12', 'worker-minilm-l6', 'worker-use-lite']);
    expect(names('PodDisruptionBudget')).toHaveLength(4);
    expect(names('HorizontalPodAutoscaler')).toEqual(['embedding-api']);
    expect(objects.every((o) => o.metadata.namespace === undefined || o.metadata.namespace === 'embeddings')).toBe(true);
  });

  it('builds the ConfigMap from config/ and inlines no secret', () => {
    const objects = render();
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('embedding-config'))!;
    expect(Object.keys(configMap.data!).sort()).toEqual(['config.yaml', 'ml_config.yaml']);
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      for (const variable of containerOf(deployment).env ?? []) {
        if (/PASSWORD|TOKEN|API_KEYS/.test(variable.name)) expect(variable.valueFrom?.secretKeyRef?.name, variable.name).toBe('embedding-secrets');
      }
    }
  });

  it('sets only known variables, probes the service’s health paths and ports, and scales each worker on its model’s queue', () => {
    const objects = render();
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      const container = containerOf(deployment);
      for (const variable of container.env ?? []) expect(KNOWN.has(variable.name), `${deployment.metadata.name}: ${variable.name}`).toBe(true);
      expect(container.livenessProbe!.httpGet.path).toBe('/health/live');
      expect(container.readinessProbe!.httpGet.path).toBe('/health/ready');
      const port = container.ports!.find((p) => p.name === container.readinessProbe!.httpGet.port)!.containerPort;
      const isApi = deployment.metadata.name === 'embedding-api';
      expect(port).toBe(isApi ? config.service.api.port : config.service.worker.health_port);
    }
    for (const scaled of objects.filter((o) => o.kind === 'ScaledObject')) {
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === scaled.metadata.name)!;
      const model = containerOf(deployment).env!.find((v) => v.name === 'WORKER_MODELS')!.value!;
      const entry = config.ml.models.find((m) => m.id === model)!;
      const queue = queueNameOf(model, { queueNames: new Map(entry.queue ? [[model, entry.queue]] : []) });
      const triggers = (scaled.spec as { triggers: { type: string; metadata: { queueName: string } }[] }).triggers;
      expect(triggers).toMatchObject([queue, callsQueueOf(queue)].map((queueName) => ({ type: 'rabbitmq', metadata: { queueName } })));
    }
  });

  it('renders the HA overlay: RabbitMQ as the operator’s cluster of three, Redis as three pods under Sentinel, every service pointed at them, KEDA on the high queues too', () => {
    const objects = render('ha');
    expect(objects.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name)).toEqual(['redis']);
    expect(objects.find((o) => o.kind === 'RabbitmqCluster')!.spec).toMatchObject({ replicas: 3 });
    expect(objects.find((o) => o.kind === 'StatefulSet')!.spec).toMatchObject({ replicas: 3 });
    expect(objects.every((o) => o.metadata.namespace === undefined || o.metadata.namespace === 'embeddings')).toBe(true);
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      const env = containerOf(deployment).env!;
      for (const variable of env) expect(KNOWN.has(variable.name), `${deployment.metadata.name}: ${variable.name}`).toBe(true);
      expect(env).toEqual(expect.arrayContaining([{ name: 'QUEUE_TYPE', value: 'quorum' }, { name: 'REDIS_SENTINELS', value: 'redis-sentinel:26379' }, { name: 'REDIS_WAIT_REPLICAS', value: '1' }]));
    }
    for (const scaled of objects.filter((o) => o.kind === 'ScaledObject')) {
      const queues = (scaled.spec as { triggers: { metadata: { queueName: string } }[] }).triggers.map((t) => t.metadata.queueName);
      expect(queues.slice(2)).toEqual([highQueueOf(queues[0]!), highQueueOf(queues[1]!)]);
    }
  });

  it('scales the L6 and L12 workers at about a second of one worker’s work, as the capacity model derives', async () => {
    const capacity = JSON.parse(await read('docs/capacity.json')) as { models: Record<string, { workerTextsPerSecond: Record<string, number> }> };
    for (const overlay of ['example', 'ha']) {
      const objects = render(overlay);
      for (const [worker, model] of [['worker-minilm-l6', 'all-MiniLM-L6-v2'], ['worker-minilm-l12', 'all-MiniLM-L12-v2']] as const) {
        const perSecond = capacity.models[model]!.workerTextsPerSecond['32']!;
        const scaled = objects.find((o) => o.kind === 'ScaledObject' && o.metadata.name === worker)!;
        for (const trigger of (scaled.spec as { triggers: { metadata: { value: string } }[] }).triggers) {
          expect(Number(trigger.metadata.value), `${overlay} ${worker}`).toBeGreaterThanOrEqual(0.9 * perSecond);
          expect(Number(trigger.metadata.value), `${overlay} ${worker}`).toBeLessThanOrEqual(perSecond);
        }
      }
    }
  });

  it('runs RabbitMQ with its schedulers not busy-waiting, as compose does', async () => {
    const flags = '+sbwt none +sbwtdcpu none +sbwtdio none';
    const broker = render().find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'rabbitmq')!;
    expect(containerOf(broker).env).toContainEqual({ name: 'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS', value: flags });
    expect((await compose('compose.rr.yaml')).services.rabbitmq!.environment).toMatchObject({ RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: flags });
  });
});
