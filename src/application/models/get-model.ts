import { ModelNotFoundError, type ModelDescriptor } from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';
import { withLiveWorkers } from './list-models.js';
import type { LiveWorkers } from './live-workers.js';

export class GetModel {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly live: LiveWorkers,
  ) {}

  async execute(modelId: string): Promise<ModelDescriptor> {
    const model = await this.catalog.find(modelId);
    if (!model) throw new ModelNotFoundError(modelId);
    return withLiveWorkers(model, await this.live.count(modelId));
  }
}
