import type { EmbeddingModel } from './embedding-model.js';

/**
 * Loads a configured model into this process. Loading may take seconds
 * (files are read, a runtime starts, a first inference warms it); it rejects
 * with the reason when the model cannot be loaded.
 */
export interface ModelLoader {
  load(modelId: string): Promise<EmbeddingModel>;
}
