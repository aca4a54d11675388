import { ContainerModule } from 'inversify';
import { RerankCheck } from '../../application/rerank/rerank-check.js';
import { RerankDocuments } from '../../application/rerank/rerank-documents.js';
import { SyncTasks } from '../../application/tasks/sync-tasks.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { provide } from '../tokens.js';

/** Reranking: documents scored against a query by a cross-encoder, on its own queue, the caller held until the task ends. */
export function rerankModule(config: AppConfig): ContainerModule {
  const { limits } = config.service;
  const defaultReranker = config.ml.default_reranker ?? config.ml.models.find((m) => m.kind === 'reranker')?.id;
  return new ContainerModule(({ bind }) => {
    provide(
      bind,
      RerankCheck,
      { catalog: TOKENS.ModelCatalog },
      ({ catalog }) => new RerankCheck(catalog, { maxDocuments: limits.max_documents, maxChars: limits.max_input_chars }, defaultReranker),
    );
    provide(bind, RerankDocuments, { check: RerankCheck, tasks: SyncTasks }, ({ check, tasks }) => new RerankDocuments(check, tasks));
  });
}
