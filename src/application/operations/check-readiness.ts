import type { ReadinessReport } from '../../domain/index.js';
import type { HealthCheck } from '../../ports/health-check.js';

/** Runs every check at once; the service is ready only when all pass. */
export class CheckReadiness {
  constructor(
    private readonly checks: readonly HealthCheck[],
    private readonly timeoutMs = 2_000,
  ) {}

  async execute(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), this.timeoutMs);
          return [c.name, { status: 'ok' as const }] as const;
        } catch (error) {
          const detail = error instanceof Error ? error.message : String(error);
          return [c.name, { status: 'failing' as const, detail }] as const;
        }
      }),
    );
    return {
      ready: results.every(([, r]) => r.status === 'ok'),
      checks: Object.fromEntries(results),
    };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
