import { OtelTracing } from './otel-tracing.js';
import type { TracingSetup } from './tracing-sdk.js';

/**
 * Tracing for this process: `tracing` at once, for whatever is built to
 * use it, and OpenTelemetry's SDK behind it from `start` (its tracers are
 * the API's proxies, which delegate to the SDK once it is registered).
 * The SDK's modules (exporters, protobuf encoding) are loaded by `start`
 * alone: a process that does not trace never loads them.
 */
export class TracingRuntime {
  readonly tracing: OtelTracing;
  private running: { shutdown(): Promise<void> } | undefined;

  constructor(private readonly setup: TracingSetup) {
    this.tracing = new OtelTracing('embedding-service', setup.service.version);
  }

  async start(): Promise<void> {
    const { registerTracing } = await import('./tracing-sdk.js');
    this.running = registerTracing(this.setup);
  }

  /** Exports what is queued (within the exporter's timeout), then stops. */
  async shutdown(): Promise<void> {
    await this.running?.shutdown();
  }
}
