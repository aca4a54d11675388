import type { ModelDescriptor } from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';
import type { LiveWorkers } from './live-workers.js';

export class ListModels {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly live: LiveWorkers,
  ) {}

  async execute(): Promise<readonly ModelDescriptor[]> {
    const [models, counts] = await Promise.all([this.catalog.list(), this.live.counts()]);
    return models.map((m) => (counts ? { ...m, liveWorkers: counts.get(m.id) ?? 0 } : m));
  }
}
