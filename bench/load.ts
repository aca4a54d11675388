import { Pool } from 'undici';

export interface LoadOptions {
  readonly clients: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly model: string;
  /** The text the i-th request sends. */
  readonly text: (i: number) => string;
}

export interface LoadResult {
  readonly completed: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly failed: number;
}

/**
 * N clients, each submitting one text and waiting for its result (a long poll
 * on the task), then the next, for a fixed time. Only requests that start and
 * finish inside the measured window count.
 */
export async function drive(baseUrl: string, options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(baseUrl, { connections: options.clients * 2, pipelining: 1 });
  let next = 0;
  let failed = 0;
  const latencies: number[] = [];
  const begin = performance.now() + options.warmupSeconds * 1000;
  const end = begin + options.seconds * 1000;

  const one = async (): Promise<boolean> => {
    const submit = await pool.request({
      path: '/v1/embeddings/tasks',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: options.text(next++), model: options.model }),
    });
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
        if (started >= begin && finished <= end) {
          if (ok) latencies.push(finished - started);
          else failed++;
        }
      }
    }),
  );
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    completed: latencies.length,
    perSecond: latencies.length / options.seconds,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    failed,
  };
}
