import type { ModelDescriptor } from '../domain/index.js';
import type { ModelCatalog } from '../ports/model-catalog.js';

export class ListModels {
  constructor(private readonly catalog: ModelCatalog) {}

  execute(): Promise<readonly ModelDescriptor[]> {
    return this.catalog.list();
  }
}
