import { InvalidParameterError, ModelNotFoundError, type ModelKind, type Task, type TaskStatus } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';
import type { DeadLetter, DeadLetterAction, QueueInspector } from '../../ports/queue-inspector.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { ModelActivity, WorkerBeat, WorkerRegistry } from '../../ports/worker-registry.js';
import type { ConsoleSnapshot, HistoryPoint, ModelOverview } from '../../ports/console.js';
import type { CacheModelStats, EmbeddingCache } from '../../ports/embedding-cache.js';

export interface ConsoleOptions {
  /** How often the service's state is sampled (and pushed to open consoles). */
  readonly sampleMs: number;
  /** How far back the charts go. */
  readonly historyMs: number;
}

/** Over how long the rates are measured. */
const RATE_WINDOW_MS = 30_000;

interface Sample {
  readonly at: number;
  readonly totals: ReadonlyMap<string, { done: number; failed: number; ready: number; inFlight: number }>;
}

type Listener = (snapshot: ConsoleSnapshot, point: HistoryPoint) => void;

/**
 * What the operator console shows and does, over the ports: models and
 * their queues, workers from their heartbeats, the latest tasks, dead
 * letters; cancel and dead-letter actions go through here too.
 *
 * The state is sampled on one timer, however many consoles are open, and
 * pushed to each (`subscribe`): a console costs one stream, not a polling
 * loop. Rates come from the difference between samples, and the charts'
 * history is kept here, so a console opened now shows the last 15 minutes.
 * Sampling runs from `start` (the service starts it with the API, so the
 * history is there before anyone opens a console) until `close`.
 */
export class OperatorConsole {
  private readonly samples: Sample[] = [];
  private readonly history: HistoryPoint[] = [];
  private readonly listeners = new Set<Listener>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly queue: QueueInspector,
    private readonly store: TaskStore,
    private readonly registry: WorkerRegistry,
    private readonly clock: Clock,
    private readonly options: ConsoleOptions,
    /** The embedding cache's figures, when there is one. */
    private readonly cache?: Pick<EmbeddingCache, 'stats'>,
  ) {}

  /** The state now (sampled afresh), with the charts' history. */
  async overview(): Promise<{ snapshot: ConsoleSnapshot; history: readonly HistoryPoint[] }> {
    const snapshot = await this.sample();
    return { snapshot, history: [...this.history] };
  }

  /** Begins sampling on the timer; idempotent. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.sampleMs);
    this.timer.unref();
  }

  /** Calls `listener` with every new sample until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    this.start();
    return () => this.listeners.delete(listener);
  }

  async tasks(query: { limit: number; status?: TaskStatus; model?: string }): Promise<Task[]> {
    return this.store.recent(query);
  }

  async deadLetters(model: string, limit: number): Promise<DeadLetter[]> {
    await this.requireModel(model);
    return this.queue.deadLetters(model, limit);
  }

  /** Requeues or discards a dead-lettered message; `InvalidParameterError` when the queue holds none for the task. */
  async resolveDeadLetter(model: string, taskId: string, action: DeadLetterAction): Promise<void> {
    await this.requireModel(model);
    if (!(await this.queue.resolveDeadLetter(model, taskId, action))) {
      throw new InvalidParameterError('taskId', `The dead-letter queue of model '${model}' holds no message of task ${taskId}.`);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private async tick(): Promise<void> {
    try {
      const snapshot = await this.sample();
      const point = this.history.at(-1)!;
      for (const listener of this.listeners) listener(snapshot, point);
    } catch {
      // A sample that fails (the registry or the broker away) is skipped; the next one tries again.
    }
  }

  private async requireModel(model: string): Promise<void> {
    if (!(await this.catalog.find(model))) throw new ModelNotFoundError(model);
  }

  private async sample(): Promise<ConsoleSnapshot> {
    const now = this.clock.now();
    const at = now.getTime();
    const [models, beats, queued, cached] = await Promise.all([
      this.catalog.list(),
      this.registry.live().catch(() => [] as readonly WorkerBeat[]),
      this.store.recent({ limit: 1000, status: 'queued' }).catch(() => [] as Task[]),
      this.cache?.stats().catch(() => undefined),
    ]);
    const stats = await Promise.all(models.map((m) => this.queue.stats(m.id).catch(() => undefined)));

    const totals = new Map<string, { done: number; failed: number; ready: number; inFlight: number }>();
    const overviews = models.map((model, i) => {
      const activities = beats.flatMap((beat) => (beat.activity?.[model.id] ? [beat.activity[model.id]!] : []));
      const sum = (pick: (a: ModelActivity) => number) => activities.reduce((total, a) => total + pick(a), 0);
      const worst = (pick: (a: ModelActivity) => number | undefined) => {
        const values = activities.map(pick).filter((v): v is number => v !== undefined);
        return values.length === 0 ? undefined : Math.max(...values);
      };
      const queue = stats[i];
      const current = { done: sum((a) => a.done), failed: sum((a) => a.failed), ready: queue?.ready ?? 0, inFlight: sum((a) => a.inFlight) };
      totals.set(model.id, current);
      const rates = this.rates(model.id, current, at);
      const oldest = queued.filter((t) => t.model === model.id).at(-1);
      return {
        id: model.id,
        kind: model.kind,
        queue,
        workers: beats.filter((b) => b.models.includes(model.id)).length,
        inFlight: current.inFlight,
        done: current.done,
        failed: current.failed,
        ...rates,
        waitP50Ms: worst((a) => a.waitP50Ms),
        waitP95Ms: worst((a) => a.waitP95Ms),
        inferenceP50Ms: worst((a) => a.inferenceP50Ms),
        inferenceP95Ms: worst((a) => a.inferenceP95Ms),
        meanBatchSize: worst((a) => a.meanBatchSize),
        oldestWaitingSeconds: oldest ? Math.max(0, (at - oldest.createdAt.getTime()) / 1000) : undefined,
        cache: cacheOf(model.id, model.kind, cached),
      } satisfies ModelOverview;
    });

    this.remember({ at, totals }, overviews);
    const workers = beats.map((beat) => ({
      ...beat,
      uptimeSeconds: Math.max(0, (at - beat.startedAt.getTime()) / 1000),
      beatAgeSeconds: beat.reportedAt ? Math.max(0, (at - beat.reportedAt.getTime()) / 1000) : undefined,
    }));
    return { at: now, models: overviews, workers };
  }

  /** Rates between now and the oldest sample within the window. */
  private rates(model: string, current: { done: number; failed: number; ready: number; inFlight: number }, at: number) {
    const base = this.samples.find((s) => at - s.at <= RATE_WINDOW_MS && s.totals.has(model));
    const before = base?.totals.get(model);
    if (!base || !before || at - base.at < 1) return { submittedPerSecond: undefined, donePerSecond: undefined, failedPerSecond: undefined };
    const seconds = (at - base.at) / 1000;
    // A worker that left takes its counts with it: a fall is no negative rate.
    const per = (now: number, then: number) => Math.max(0, now - then) / seconds;
    const backlog = (t: { ready: number; inFlight: number }) => t.ready + t.inFlight;
    const done = per(current.done, before.done);
    const failed = per(current.failed, before.failed);
    // What came in is what was finished plus what the backlog grew by.
    const submitted = Math.max(0, done + failed + (backlog(current) - backlog(before)) / seconds);
    return { submittedPerSecond: submitted, donePerSecond: done, failedPerSecond: failed };
  }

  private remember(sample: Sample, overviews: readonly ModelOverview[]): void {
    this.samples.push(sample);
    while (this.samples.length > 0 && sample.at - this.samples[0]!.at > RATE_WINDOW_MS) this.samples.shift();
    this.history.push({
      at: sample.at,
      models: Object.fromEntries(overviews.map((m) => [m.id, { donePerSecond: m.donePerSecond, ready: m.queue?.ready }])),
    });
    while (this.history.length > 0 && sample.at - this.history[0]!.at > this.options.historyMs) this.history.shift();
  }
}

/** A model's cache figures: zeros for an embedding model the cache has not met yet, none for a reranker or without a cache. */
function cacheOf(model: string, kind: ModelKind, stats: readonly CacheModelStats[] | undefined): ModelOverview['cache'] {
  if (!stats || kind !== 'embedding') return undefined;
  const { model: _, ...figures } = stats.find((s) => s.model === model) ?? { model, hits: 0, misses: 0, bytes: 0, entries: 0, evictions: 0 };
  return figures;
}
