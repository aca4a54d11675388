import { Pool } from 'undici';

/** What driving a route for a stretch measured: the units of work done, failures, and the latencies of the requests wholly inside it. */
export interface Stretch {
  readonly units: number;
  readonly failed: number;
  readonly latencies: readonly number[];
}

/**
 * `clients` clients, each POSTing `body(i)` to `path` and waiting for its
 * answer, then the next. `unitsOf` reads from a 200's answer the work it did
 * (pairs scored, tokens embedded), or undefined when it is not the answer
 * wanted. Work counts for the requests that finish inside the measured
 * window (a request may take seconds, so many straddle one of its edges);
 * latency, for those that start and finish inside it.
 */
export async function drive(
  base: string,
  path: string,
  body: (i: number) => unknown,
  unitsOf: (answer: unknown) => number | undefined,
  { clients, warmup, seconds }: { clients: number; warmup: number; seconds: number },
): Promise<Stretch> {
  const pool = new Pool(base, { connections: clients * 2 });
  const begin = performance.now() + warmup * 1000;
  const end = begin + seconds * 1000;
  const latencies: number[] = [];
  let units = 0;
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        const response = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(next++)) });
        const answer: unknown = await response.body.json();
        const finished = performance.now();
        if (finished < begin || finished > end) continue;
        const done = response.statusCode === 200 ? unitsOf(answer) : undefined;
        if (done === undefined) failed++;
        else {
          units += done;
          if (started >= begin) latencies.push(finished - started);
        }
      }
    }),
  );
  await pool.close();
  return { units, failed, latencies };
}
