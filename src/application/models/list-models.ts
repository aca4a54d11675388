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
    return models.map((m) => withLiveWorkers(m, counts && (counts.get(m.id) ?? 0)));
  }
}

/**
 * A model with the live workers that serve it. A process that loads no model
 * (the API) cannot say whether it has one loaded; there `loaded` says
 * whether some live worker has.
 */
export function withLiveWorkers(model: ModelDescriptor, liveWorkers: number | undefined): ModelDescriptor {
  if (liveWorkers === undefined) return model;
  return { ...model, liveWorkers, loaded: model.loaded ?? liveWorkers > 0 };
}
