import { rankDocuments, type Allowance, type PairTruncation, type Principal, type RankedDocument, type Ranking, type Task } from '../../domain/index.js';
import type { SyncTasks } from '../tasks/sync-tasks.js';
import type { CheckedRerank, RerankCheck } from './rerank-check.js';

export interface RerankRequest extends CheckedRerank, Ranking {
  readonly truncation?: PairTruncation;
  readonly priority?: number;
  readonly requestId?: string;
  readonly caller?: Principal;
}

export interface Reranked {
  readonly task: Task;
  readonly model: string;
  /** Highest score first; equal scores in request order. */
  readonly results: readonly RankedDocument[];
  /** Tokens of every pair, special tokens included: what the model read. */
  readonly promptTokens: number;
  readonly tokens: Allowance | undefined;
}

/**
 * Reranking, on every route that asks for it (Cohere's, Jina's, TEI's): the
 * request checked (`RerankCheck`), then run as a task on the reranker's
 * queue whose caller is held until it ends (`SyncTasks`), as the sync
 * embeddings route's is; its rows become one score per document, sorted and
 * cut to `topN`.
 */
export class RerankDocuments {
  constructor(
    private readonly check: RerankCheck,
    private readonly tasks: SyncTasks,
  ) {}

  async execute(request: RerankRequest, signal?: AbortSignal): Promise<Reranked> {
    const model = await this.check.execute(request);
    const { task, result, tokens } = await this.tasks.run(
      {
        inputs: request.documents,
        rerank: { query: request.query, ...request.truncation },
        ...(request.priority !== undefined && { priority: request.priority }),
        ...(request.requestId !== undefined && { requestId: request.requestId }),
        ...(request.caller && { caller: request.caller }),
      },
      model.id,
      signal,
    );
    return { task, model: model.id, results: rankDocuments(result.vectors, request), promptTokens: result.usage.promptTokens, tokens };
  }
}
