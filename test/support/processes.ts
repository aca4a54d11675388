import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { REPO_ROOT } from './paths.js';
import type { TestNamespace } from './namespace.js';
import { waitFor } from './wait.js';

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves when GET /health/ready on `port` answers 200; rejects if the process exits first. */
  ready(port: number, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** The exit code, once the process has exited by itself. */
  exited(): Promise<number | null>;
}

/**
 * Runs the entry point with `env` over this process's environment: from the
 * TypeScript sources through tsx, as `npm start` does, or, with `compiled`,
 * from `dist/` as a production image does (`npm run build` first).
 */
export function startProcess(args: string[], env: Record<string, string>, compiled = false, cwd = REPO_ROOT): ServiceProcess {
  // Vitest sets MODE=test in its own environment; MODE is the service's mode switch.
  const inherited = { ...process.env };
  delete inherited.MODE;
  const entry = compiled ? ['dist/bootstrap/main.js'] : ['--import', 'tsx', 'src/bootstrap/main.ts'];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => output,
    ready: (port, timeoutMs = 30_000) =>
      waitFor(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`process exited (${child.exitCode ?? child.signalCode}):\n${output}`);
          }
          return (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.status === 200;
        },
        timeoutMs,
        `readiness on port ${port}`,
      ),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exit;
    },
    exited: () => exit,
  };
}

/** The environment of an API or worker process on the shared RabbitMQ and Redis, inside a test's namespace. */
/**
 * A worker process on a free health port, ready; it joins `processes` (for
 * the caller to stop) before it is waited for, so that one that never gets
 * ready is stopped too.
 */
export async function startWorker(env: Record<string, string>, processes: ServiceProcess[]): Promise<{ process: ServiceProcess; port: number }> {
  const port = await freePort();
  const worker = startProcess(['--mode', 'worker'], { ...env, WORKER_HEALTH_PORT: String(port) });
  processes.push(worker);
  await worker.ready(port);
  return { process: worker, port };
}

export function distributedEnv(options: {
  mlConfig: string;
  amqpUrl: string;
  redisUrl: string;
  namespace: TestNamespace;
  apiPort: number;
}): Record<string, string> {
  return {
    ML_CONFIG_PATH: options.mlConfig,
    AMQP_URL: options.amqpUrl,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: options.namespace.keyPrefix,
    API_HOST: '127.0.0.1',
    API_PORT: String(options.apiPort),
    LOG_LEVEL: 'warn',
    WORKER_THREADS: '1',
  };
}

/**
 * Resolves once the API on `apiPort` counts a live worker for `model`. A
 * worker is ready before the API has seen its first heartbeat, and until
 * then `POST /v1/embeddings` answers 503 no_live_worker, as it should.
 */
export async function untilServed(apiPort: number, model: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => {
      const response = await fetch(`http://127.0.0.1:${apiPort}/v1/models/${encodeURIComponent(model)}`).catch(() => undefined);
      if (response?.status !== 200) return false;
      return ((await response.json()) as { live_workers: number | null }).live_workers! > 0;
    },
    timeoutMs,
    `a live worker for ${model}`,
  );
}

/**
 * What the fault tests (chaos, node loss) run their API and workers with,
 * besides their servers' URLs: one thread a worker, small batches and
 * prefetch so that a fault catches tasks in flight, a beat a second, and
 * room for a task caught by each fault once.
 */
export function faultTestEnv(options: { mlConfig: string; namespace: string; apiPort: number }): Record<string, string> {
  return {
    ML_CONFIG_PATH: options.mlConfig,
    REDIS_COMMAND_TIMEOUT_MS: '500',
    DEPLOYMENT_NAMESPACE: options.namespace,
    API_HOST: '127.0.0.1',
    API_PORT: String(options.apiPort),
    LOG_LEVEL: 'warn',
    WORKER_THREADS: '1',
    WORKER_PREFETCH: '16',
    WORKER_MAX_BATCH_SIZE: '8',
    WORKER_HEARTBEAT_SECONDS: '1',
    TASK_MAX_ATTEMPTS: '5',
  };
}

/** The JSON log lines a process has written so far, parsed. */
export function logLines(process: ServiceProcess): Record<string, unknown>[] {
  return process
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
