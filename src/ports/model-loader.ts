import type { EmbeddingModel } from './embedding-model.js';
import type { RerankerModel } from './reranker-model.js';

/** A loaded model, of its kind. */
export type LoadedModel = { readonly kind: 'embedding'; readonly model: EmbeddingModel } | { readonly kind: 'reranker'; readonly model: RerankerModel };

/**
 * Loads a configured model into this process. Loading may take seconds
 * (files are read, a runtime starts, a first inference warms it); it rejects
 * with the reason when the model cannot be loaded.
 */
export interface ModelLoader {
  load(modelId: string): Promise<LoadedModel>;
}
