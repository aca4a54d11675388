import { afterAll } from 'vitest';
import { testNamespace, type TestNamespace } from './namespace.js';

/*
 * Real servers for integration tests, in this order: the URLs in the
 * environment (AMQP_URL / REDIS_URL, or the RABBITMQ_* / REDIS_* variables the
 * service itself reads), else containers from testcontainers when a container
 * runtime answers. With neither, suites are skipped with the reason printed,
 * unless REQUIRE_INFRA=1, which makes that a failure.
 */

export interface Infra {
  readonly url: string;
  /** Where the URL came from, for the test log. */
  readonly source: 'environment' | 'testcontainers';
  stop(): Promise<void>;
}

export type InfraResult = { ok: true; infra: Infra } | { ok: false; reason: string };

const env = process.env;

export async function rabbitmq(): Promise<InfraResult> {
  const fromEnv =
    env.AMQP_URL ??
    (env.RABBITMQ_HOST
      ? `amqp://${enc(env.RABBITMQ_USER ?? 'guest')}:${enc(env.RABBITMQ_PASSWORD ?? 'guest')}@${env.RABBITMQ_HOST}:${env.RABBITMQ_PORT ?? 5672}`
      : undefined);
  if (fromEnv) return { ok: true, infra: { url: fromEnv, source: 'environment', stop: async () => {} } };
  return container('rabbitmq:3.13-alpine', 5672, (host, port) => `amqp://guest:guest@${host}:${port}`);
}

export async function redis(): Promise<InfraResult> {
  const fromEnv =
    env.REDIS_URL ??
    (env.REDIS_HOST
      ? `redis://${env.REDIS_PASSWORD ? `:${enc(env.REDIS_PASSWORD)}@` : ''}${env.REDIS_HOST}:${env.REDIS_PORT ?? 6379}`
      : undefined);
  if (fromEnv) return { ok: true, infra: { url: fromEnv, source: 'environment', stop: async () => {} } };
  return container('redis:7-alpine', 6379, (host, port) => `redis://${host}:${port}`);
}

async function container(image: string, port: number, url: (host: string, port: number) => string): Promise<InfraResult> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  // testcontainers finds the engine itself: DOCKER_HOST (podman's Docker API, see scripts/containers.sh), or Docker's socket.
  const runtime = await getContainerRuntimeClient().catch((error: unknown) => error as Error);
  if (runtime instanceof Error) {
    return { ok: false, reason: `no ${image.split(':')[0]} URL in the environment and no container runtime for testcontainers (${runtime.message})` };
  }
  const started = await new GenericContainer(image)
    .withExposedPorts(port)
    .withWaitStrategy(Wait.forListeningPorts())
    .withStartupTimeout(120_000)
    .start();
  let stopping: Promise<unknown> | undefined;
  const stop = async () => {
    stopping ??= started.stop();
    await stopping;
  };
  // Called while a test file is collected: the container goes when the file is done, whether or not the suite stops it.
  afterAll(stop, 120_000);
  return { ok: true, infra: { url: url(started.getHost(), started.getMappedPort(port)), source: 'testcontainers', stop } };
}

function enc(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Resolves a server for a suite: the result to use, or undefined after
 * printing why the suite is skipped. Throws under REQUIRE_INFRA=1.
 */
export async function requireOrSkip(name: string, result: InfraResult): Promise<Infra | undefined> {
  if (result.ok) return result.infra;
  if (env.REQUIRE_INFRA === '1') throw new Error(`REQUIRE_INFRA=1 but ${name} is not available: ${result.reason}`);
  console.warn(`skipping ${name} tests: ${result.reason}`);
  return undefined;
}

/**
 * RabbitMQ and Redis for a suite that runs the whole service on them: a
 * namespace of its own, the service's environment for both, and (after the
 * suite) the namespace cleaned up and any containers stopped. Undefined when
 * either server is missing: the suite is then skipped.
 */
export async function brokerAndStore(label: string): Promise<{ readonly namespace: TestNamespace; readonly env: Record<string, string> } | undefined> {
  const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
  const store = await requireOrSkip('Redis', await redis());
  const namespace = testNamespace(label);
  afterAll(async () => {
    if (amqp && store) await namespace.cleanUp({ amqpUrl: amqp.url, redisUrl: store.url });
    await amqp?.stop();
    await store?.stop();
  });
  if (!amqp || !store) return undefined;
  return {
    namespace,
    env: { QUEUE_DRIVER: 'rabbitmq', STORE_DRIVER: 'redis', AMQP_URL: amqp.url, REDIS_URL: store.url, REDIS_KEY_PREFIX: namespace.keyPrefix },
  };
}
