import { join } from 'node:path';
import { ContainerModule } from 'inversify';
import { TokenizerFiles } from '../../adapters/hf-tokenizers/tokenizer-files.js';
import { MemoryModelCatalog } from '../../adapters/memory/memory-model-catalog.js';
import { GetModel } from '../../application/models/get-model.js';
import { ListModels } from '../../application/models/list-models.js';
import { LiveWorkers } from '../../application/models/live-workers.js';
import { ModelTokens } from '../../application/models/model-tokens.js';
import { ModelHost } from '../../application/worker/model-host.js';
import { BEAT_LIFETIME_INTERVALS } from '../../application/worker/worker-presence.js';
import type { EmbeddingModel } from '../../ports/embedding-model.js';
import type { LoadedModel } from '../../ports/model-loader.js';
import type { AppConfig, ModelEntry } from '../config/schema.js';
import { loadModel, toSpec } from '../engines.js';
import { TOKENS } from '../identifiers.js';
import { constant, provide } from '../tokens.js';

/** Replaces how embedding models load (tests serve stubs); rerankers always load from their files. */
export type LoadModel = (entry: ModelEntry) => Promise<EmbeddingModel>;

/**
 * The models a process knows and, when it runs a worker, the ones it serves.
 * An API process describes every configured model and loads none; a worker
 * process describes and loads the ones it serves. Listing them, and counting
 * the live workers that serve each, is the same in every mode.
 */
export function modelsModule(config: AppConfig, served: readonly ModelEntry[] | undefined, load?: LoadModel): ContainerModule {
  return new ContainerModule(({ bind }) => {
    // After the registry was away, a beat's lifetime for the workers to report in again before a count of none is believed.
    const recoveryMs = config.service.worker.heartbeat_seconds * BEAT_LIFETIME_INTERVALS * 1000;
    provide(bind, LiveWorkers, { registry: TOKENS.WorkerRegistry }, ({ registry }) => new LiveWorkers(registry, { maxAgeMs: 1_000, recoveryMs }));
    provide(bind, ListModels, { catalog: TOKENS.ModelCatalog, live: LiveWorkers }, ({ catalog, live }) => new ListModels(catalog, live));
    provide(bind, GetModel, { catalog: TOKENS.ModelCatalog, live: LiveWorkers }, ({ catalog, live }) => new GetModel(catalog, live));
    // Every ONNX model's tokenizer.json, read where the API runs (USE-lite's SentencePiece is not one).
    const tokenizerFiles = config.ml.models.flatMap((entry) => (entry.engine === 'onnx' && entry.path ? [[entry.id, join(entry.path, 'tokenizer.json')] as const] : []));
    constant(bind, TOKENS.Tokenizers, new TokenizerFiles(new Map(tokenizerFiles)));
    provide(
      bind,
      ModelTokens,
      { catalog: TOKENS.ModelCatalog, tokenizers: TOKENS.Tokenizers, limits: TOKENS.Limits },
      ({ catalog, tokenizers, limits }) => new ModelTokens(catalog, tokenizers, limits),
    );
    if (!served) {
      constant(bind, TOKENS.ModelCatalog, new MemoryModelCatalog(config.ml.models.map(toSpec), config.ml.default_model));
      return;
    }
    const byId = new Map(served.map((entry) => [entry.id, entry]));
    const { intra_op_threads: intraOpThreads, spinning } = config.service.worker;
    const loadEntry = async (entry: ModelEntry): Promise<LoadedModel> =>
      load && entry.kind === 'embedding' ? { kind: 'embedding', model: await load(entry) } : loadModel(entry, { intraOpThreads, spinning });
    constant(bind, TOKENS.ModelLoader, {
      load: async (modelId) => {
        const entry = byId.get(modelId);
        if (!entry) throw new Error(`model '${modelId}' is not served by this process`);
        return loadEntry(entry);
      },
    });
    provide(
      bind,
      ModelHost,
      { loader: TOKENS.ModelLoader, metrics: TOKENS.Metrics, logger: TOKENS.Logger },
      ({ loader, metrics, logger }) => new ModelHost([...byId.keys()], loader, metrics, logger),
    );
    provide(
      bind,
      TOKENS.ModelCatalog,
      { host: ModelHost },
      ({ host }) => new MemoryModelCatalog(served.map(toSpec), config.ml.default_model, (id) => host.info(id)),
    );
  });
}
