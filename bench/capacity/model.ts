/**
 * The capacity model (docs/capacity.md): from what one worker and one API
 * process were measured to do, how many of each a load needs, and the p95
 * to expect.
 *
 * Workers are servers of texts: each finishes `textsPerSecond` at
 * saturation (its model, its batch size, one core). A deployment is sized
 * so that no worker runs past `TARGET_UTILISATION`; the headroom is what
 * keeps the queue short. The wait in the queue is that of M/M/c (Erlang C,
 * each request a job of `textsPerRequest` texts): the chance a request
 * waits at all, and the tail of that wait, which falls off as
 * e^-(cμ-λ)t. A request's time is then a lone request's time, measured,
 * plus that wait. API replicas are sized on their measured CPU per request,
 * one core each (Node runs the request path on one thread).
 */

export interface Measured {
  /** Texts a second one worker finishes at saturation, by batch size. */
  readonly workerTextsPerSecond: Readonly<Record<string, number>>;
  /** A lone one-text request's p50 and p95, ms, on the sync route through RabbitMQ. */
  readonly loneRequestMs: { readonly p50: number; readonly p95: number };
  /** API CPU ms per one-text request, at load. */
  readonly apiCpuMsPerRequest: number;
  /** Broker messages (published + delivered) and Redis commands per text, at load. */
  readonly brokerMessagesPerText: number;
  readonly redisCommandsPerText: number;
}

export const TARGET_UTILISATION = 0.7;

export interface Plan {
  readonly workers: number;
  readonly apiReplicas: number;
  readonly workerUtilisation: number;
  readonly p95Ms: number;
  readonly brokerMessagesPerSecond: number;
  readonly redisCommandsPerSecond: number;
  /** KEDA: waiting messages per worker replica above which it adds one, about a second of a worker's work. */
  readonly kedaQueueLengthPerReplica: number;
}

export function plan(measured: Measured, options: { rate: number; batchSize: number; textsPerRequest: number }): Plan {
  const perWorker = throughputAt(measured, options.batchSize);
  const workers = Math.max(1, Math.ceil(options.rate / (perWorker * TARGET_UTILISATION)));
  const requests = options.rate / options.textsPerRequest;
  const apiReplicas = Math.max(1, Math.ceil((requests * measured.apiCpuMsPerRequest) / 1000 / TARGET_UTILISATION));
  return {
    workers,
    apiReplicas,
    workerUtilisation: options.rate / (workers * perWorker),
    p95Ms: p95Ms(measured, { workers, perWorker, rate: options.rate, textsPerRequest: options.textsPerRequest }),
    brokerMessagesPerSecond: options.rate * measured.brokerMessagesPerText,
    redisCommandsPerSecond: options.rate * measured.redisCommandsPerText,
    kedaQueueLengthPerReplica: Math.round(perWorker / options.textsPerRequest),
  };
}

/** The p95 of a request's time: a lone request's, and the 95th percentile of the wait in the queue (M/M/c). */
export function p95Ms(measured: Measured, at: { workers: number; perWorker: number; rate: number; textsPerRequest: number }): number {
  const mu = at.perWorker / at.textsPerRequest;
  const lambda = at.rate / at.textsPerRequest;
  if (lambda >= at.workers * mu) return Number.POSITIVE_INFINITY;
  const waits = erlangC(at.workers, lambda / mu);
  const wait95 = waits <= 0.05 ? 0 : Math.log(waits / 0.05) / (at.workers * mu - lambda);
  return measured.loneRequestMs.p95 + wait95 * 1000;
}

/** The chance an arrival waits, in M/M/c with `servers` and offered load `a` (in servers). */
export function erlangC(servers: number, a: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < servers; k++) {
    term *= a / k;
    sum += term;
  }
  const last = (term * a) / servers;
  const rho = a / servers;
  const top = last / (1 - rho);
  return top / (sum + top);
}

/** The measured throughput at `batchSize`, interpolated linearly between measured sizes, held at the ends. */
export function throughputAt(measured: Measured, batchSize: number): number {
  const points = Object.entries(measured.workerTextsPerSecond)
    .map(([size, rate]) => [Number(size), rate] as const)
    .sort((a, b) => a[0] - b[0]);
  if (points.length === 0) throw new Error('no worker throughput measured');
  if (batchSize <= points[0]![0]) return points[0]![1];
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x0, y0] = points[i - 1]!;
    if (batchSize <= x1) return y0 + ((y1 - y0) * (batchSize - x0)) / (x1 - x0);
  }
  return points[points.length - 1]![1];
}
