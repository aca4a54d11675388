import { Pool } from 'undici';

/** How a client asks: the OpenAI route, held until done, or a task and a long poll for its result. */
export type Route = 'sync' | 'task';

export interface LoadOptions {
  readonly clients: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly model: string;
  readonly route: Route;
  /** The text the i-th request sends. */
  readonly text: (i: number) => string;
  /** CPU milliseconds used so far by each process under test, by name; read when the measured window opens and closes. */
  readonly cpuMs?: () => Promise<Record<string, number>>;
}

export interface LoadResult {
  readonly completed: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly failed: number;
  /** CPU the processes under test spent per text finished in the window. */
  readonly cpuMsPerText?: number;
  /** The same, process by process. */
  readonly cpuMsPerTextBy?: Record<string, number>;
  /** CPU the load generator itself (this process) spent per text: it runs on the same cores as the service. */
  readonly clientCpuMsPerText?: number;
}

/**
 * N clients, each sending one text and waiting for its vector, then the
 * next, for a fixed time. Latency counts requests that start and finish
 * inside the measured window; CPU is divided by every text finished in it.
 */
export async function drive(baseUrl: string, options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(baseUrl, { connections: options.clients * 2, pipelining: 1 });
  let next = 0;
  let failed = 0;
  let finishedInWindow = 0;
  const latencies: number[] = [];
  const begin = performance.now() + options.warmupSeconds * 1000;
  const end = begin + options.seconds * 1000;
  const cpuAt = (at: number) =>
    new Promise<{ service: Record<string, number> | undefined; client: number }>((resolve) =>
      setTimeout(
        () => {
          const own = process.cpuUsage();
          void Promise.resolve(options.cpuMs?.()).then((service) => resolve({ service, client: (own.user + own.system) / 1000 }));
        },
        Math.max(0, at - performance.now()),
      ),
    );
  const cpu = Promise.all([cpuAt(begin), cpuAt(end)]);

  const json = (path: string, body: unknown) =>
    pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const one = async (): Promise<boolean> => {
    const input = options.text(next++);
    if (options.route === 'sync') {
      const response = await json('/v1/embeddings', { input, model: options.model, encoding_format: 'float' });
      const body = (await response.body.json()) as { data?: unknown[] };
      return response.statusCode === 200 && body.data?.length === 1;
    }
    const submit = await json('/v1/embeddings/tasks', { input, model: options.model });
    const task = (await submit.body.json()) as { id?: string };
    if (submit.statusCode !== 202 || !task.id) return false;
    const result = await pool.request({ path: `/v1/embeddings/tasks/${task.id}?wait=30`, method: 'GET' });
    const body = (await result.body.json()) as { status?: string };
    return body.status === 'succeeded';
  };

  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        const ok = await one().catch(() => false);
        const finished = performance.now();
        if (ok && finished >= begin && finished <= end) finishedInWindow++;
        if (started >= begin && finished <= end) {
          if (ok) latencies.push(finished - started);
          else failed++;
        }
      }
    }),
  );
  await pool.close();
  const [{ service: cpuBegin, client: clientBegin }, { service: cpuEnd, client: clientEnd }] = await cpu;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const spent =
    cpuBegin && cpuEnd && finishedInWindow > 0
      ? Object.fromEntries(Object.keys(cpuEnd).map((name) => [name, (cpuEnd[name]! - (cpuBegin[name] ?? 0)) / finishedInWindow]))
      : undefined;
  return {
    completed: latencies.length,
    perSecond: latencies.length / options.seconds,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    failed,
    ...(spent && { cpuMsPerText: Object.values(spent).reduce((sum, ms) => sum + ms, 0), cpuMsPerTextBy: spent }),
    ...(finishedInWindow > 0 && { clientCpuMsPerText: (clientEnd - clientBegin) / finishedInWindow }),
  };
}
