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
}

export type HttpEnv = { Variables: { requestId: string } };
