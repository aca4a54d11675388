import { checkInputs, checkOutputDimensions, ModelNotFoundError, requireKind, type InputLimits, type ModelDescriptor, type TextInput } from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';

/** What is checked of any request for embeddings, whichever route or batch line it comes by. */
export interface CheckedRequest {
  readonly inputs: readonly TextInput[];
  /** The default model when absent. */
  readonly model?: string;
  readonly dimensions?: number;
}

/**
 * The one check a request for embeddings passes before it becomes a task,
 * on the task route, the synchronous route and every batch line alike: its
 * inputs within the limits, an embedding model that exists (the default
 * model when it names none), and output dimensions that model offers. Each refusal is a
 * `DomainError` naming what is wrong.
 */
export class RequestCheck {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly limits: InputLimits,
  ) {}

  async execute(request: CheckedRequest): Promise<ModelDescriptor> {
    checkInputs(request.inputs, this.limits);
    const modelId = request.model ?? this.catalog.defaultModelId;
    const model = await this.catalog.find(modelId);
    if (!model) throw new ModelNotFoundError(modelId);
    requireKind(model, 'embedding');
    if (request.dimensions !== undefined) checkOutputDimensions(model, request.dimensions);
    return model;
  }
}
