import type { MiddlewareHandler } from 'hono';
import type { EmbeddingRequest, ModelDescriptor, ReadinessReport, Task } from '../../domain/index.js';

export interface SyncEmbeddingRequest extends EmbeddingRequest {
  readonly dimensions?: number;
}

/** The use cases the HTTP adapter drives, typed by what it needs of them. */
export interface HttpUseCases {
  readonly submitEmbedding: {
    execute(request: EmbeddingRequest): Promise<{ task: Task; liveWorkers: number | undefined }>;
  };
  readonly getTaskStatus: { execute(taskId: string, waitMs?: number): Promise<Task> };
  readonly listModels: { execute(): Promise<readonly ModelDescriptor[]> };
  readonly getModel: { execute(modelId: string): Promise<ModelDescriptor> };
  readonly checkReadiness: { execute(): Promise<ReadinessReport> };
  readonly createEmbeddings: {
    execute(request: SyncEmbeddingRequest): Promise<{ task: Task; vectors: readonly Float32Array[] }>;
  };
}

export interface HttpOptions {
  readonly bodyLimitBytes: number;
  readonly defaultModelId: string;
  /** The Prometheus exposition, served at GET /metrics when given. */
  readonly renderMetrics?: () => Promise<{ contentType: string; body: string }>;
  /** Drains the app on shutdown (503 to new requests, in-flight ones finish). */
  readonly lifecycle?: { readonly middleware: MiddlewareHandler<HttpEnv> };
}

/** Handlers set `taskId` and `model` so that the access log line carries them. */
export type HttpEnv = { Variables: { requestId: string; taskId?: string; model?: string } };
