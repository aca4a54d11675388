import { ModelNotFoundError, type ModelDescriptor } from '../domain/index.js';
import type { ModelCatalog } from '../ports/model-catalog.js';

export class GetModel {
  constructor(private readonly catalog: ModelCatalog) {}

  async execute(modelId: string): Promise<ModelDescriptor> {
    const model = await this.catalog.find(modelId);
    if (!model) throw new ModelNotFoundError(modelId);
    return model;
  }
}
