import { ContainerModule } from 'inversify';
import { EnforceRateLimits } from '../../application/access/enforce-rate-limits.js';
import { CheckReadiness } from '../../application/operations/check-readiness.js';
import { OperatorConsole } from '../../application/operations/operator-console.js';
import { ModelHost } from '../../application/worker/model-host.js';
import type { HealthCheck } from '../../ports/health-check.js';
import { defaultRateLimits } from '../config/api-keys.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { provide } from '../tokens.js';

/**
 * What operators and the edge of the service rely on: readiness (the queue
 * and the store, and each served model when the process runs a worker), the
 * per-key rate limits, and the console's sampler.
 */
export function operationsModule(config: AppConfig, runsWorker: boolean): ContainerModule {
  return new ContainerModule(({ bind }) => {
    provide(
      bind,
      OperatorConsole,
      { catalog: TOKENS.ModelCatalog, queue: TOKENS.TaskQueue, store: TOKENS.TaskStore, registry: TOKENS.WorkerRegistry, clock: TOKENS.Clock, cache: TOKENS.EmbeddingCache },
      (d) => new OperatorConsole(d.catalog, d.queue, d.store, d.registry, d.clock, { sampleMs: 2_000, historyMs: 15 * 60_000 }, d.cache),
    );
    provide(
      bind,
      EnforceRateLimits,
      { limiter: TOKENS.RateLimiter },
      ({ limiter }) => new EnforceRateLimits(limiter, defaultRateLimits(config.service)),
    );

    const dependencies = { queue: TOKENS.TaskQueue, store: TOKENS.TaskStore };
    const checks = ({ queue, store }: { queue: { ping(): Promise<void> }; store: { ping(): Promise<void> } }): HealthCheck[] => [
      { name: 'queue', check: () => queue.ping() },
      { name: 'store', check: () => store.ping() },
    ];
    if (runsWorker) {
      provide(bind, TOKENS.HealthChecks, { ...dependencies, host: ModelHost }, (d) => [...checks(d), ...d.host.healthChecks()]);
    } else {
      provide(bind, TOKENS.HealthChecks, dependencies, checks);
    }
    provide(bind, CheckReadiness, { checks: TOKENS.HealthChecks }, ({ checks }) => new CheckReadiness(checks));
  });
}
