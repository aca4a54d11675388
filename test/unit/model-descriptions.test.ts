import { describe, expect, it } from 'vitest';
import { serializeModel } from '../../src/adapters/http/wire/models.js';
import { MemoryModelCatalog } from '../../src/adapters/memory/memory-model-catalog.js';
import { MemoryWorkerRegistry } from '../../src/adapters/memory/memory-worker-registry.js';
import { ListModels } from '../../src/application/models/list-models.js';
import { LiveWorkers } from '../../src/application/models/live-workers.js';
import { loadConfig } from '../../src/bootstrap/config/load.js';
import { toSpec } from '../../src/bootstrap/engines.js';

/* An API process loads no model, yet describes each as a worker process that loaded it would. */
describe('models as an API process describes them', () => {
  it('gives USE-lite’s pooling and dimensions from its engine, and `loaded` from the live workers', async () => {
    const config = loadConfig({ env: { MODE: 'api' } });
    const registry = new MemoryWorkerRegistry();
    const catalog = new MemoryModelCatalog(config.ml.models.map(toSpec), config.ml.default_model);
    const listModels = new ListModels(catalog, new LiveWorkers(registry, { maxAgeMs: 0, recoveryMs: 0 }));
    const describeUseLite = async () =>
      serializeModel((await listModels.execute()).find((m) => m.id === 'universal-sentence-encoder-lite')!, config.ml.default_model);

    expect(await describeUseLite()).toMatchObject({ pooling: 'mean', dimensions: 512, max_tokens: 512, loaded: false, live_workers: 0 });
    await registry.heartbeat({ workerId: 'w', host: 'h', pid: 1, models: ['universal-sentence-encoder-lite'], startedAt: new Date() }, 30);
    expect(await describeUseLite()).toMatchObject({ pooling: 'mean', loaded: true, live_workers: 1 });
  });
});
