import {
  InvalidParameterError,
  ModelNotFoundError,
  PayloadTooLargeError,
  RERANK_ROW,
  requireKind,
  ValidationError,
  type Allowance,
  type FieldIssue,
  type PairTruncation,
  type Principal,
  type Task,
} from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';
import type { SyncTasks } from '../tasks/sync-tasks.js';

export interface RerankRequest {
  readonly query: string;
  readonly documents: readonly string[];
  /** The default reranker when absent. */
  readonly model?: string;
  /** Only the best this many, highest first; all of them when absent. */
  readonly topN?: number;
  /** The logit each score came from, rather than the score (TEI's `raw_scores`). */
  readonly rawScores?: boolean;
  readonly truncation?: PairTruncation;
  readonly priority?: number;
  readonly requestId?: string;
  readonly caller?: Principal;
}

export interface RankedDocument {
  /** The document's position in the request. */
  readonly index: number;
  readonly score: number;
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

export interface RerankLimits {
  readonly maxDocuments: number;
  /** Characters of the query, and of each document. */
  readonly maxChars: number;
}

/**
 * Reranking, on every route that asks for it (Cohere's, Jina's, TEI's): the
 * request checked (a query, documents within the limits, a reranker), then
 * run as a task on the reranker's queue whose caller is held until it ends
 * (`SyncTasks`), as the sync embeddings route's is; its rows become one
 * score per document, sorted and cut to `topN`.
 */
export class RerankDocuments {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly tasks: SyncTasks,
    private readonly limits: RerankLimits,
    /** The configured default reranker, else the first; undefined when none is configured. */
    private readonly defaultRerankerId: string | undefined,
  ) {}

  async execute(request: RerankRequest, signal?: AbortSignal): Promise<Reranked> {
    this.checkTexts(request);
    const modelId = request.model ?? this.defaultRerankerId;
    if (modelId === undefined) throw new InvalidParameterError('model', 'This service has no reranker: configure one (kind: reranker in ml_config.yaml).');
    const model = await this.catalog.find(modelId);
    if (!model) throw new ModelNotFoundError(modelId);
    requireKind(model, 'reranker');
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
    const column = request.rawScores ? RERANK_ROW.logit : RERANK_ROW.score;
    const ranked = result.vectors.map((row, index) => ({ index, score: row[column]! }));
    ranked.sort((a, b) => b.score - a.score || a.index - b.index);
    return { task, model: model.id, results: ranked.slice(0, request.topN ?? ranked.length), promptTokens: result.usage.promptTokens, tokens };
  }

  private checkTexts({ query, documents }: RerankRequest): void {
    if (query.length === 0) throw new ValidationError('The query is empty.', [{ path: 'query', message: 'must not be empty' }]);
    if (query.length > this.limits.maxChars) {
      throw new PayloadTooLargeError(`The query is longer than ${this.limits.maxChars} characters.`, [{ path: 'query', message: `at most ${this.limits.maxChars} characters` }]);
    }
    if (documents.length === 0) throw new ValidationError('No documents to rerank.', [{ path: 'documents', message: 'must not be empty' }]);
    if (documents.length > this.limits.maxDocuments) {
      throw new PayloadTooLargeError(`The request holds ${documents.length} documents; at most ${this.limits.maxDocuments} are taken.`, [
        { path: 'documents', message: `at most ${this.limits.maxDocuments} documents` },
      ]);
    }
    const empty: FieldIssue[] = [];
    const long: FieldIssue[] = [];
    documents.forEach((document, i) => {
      if (document.length === 0) empty.push({ path: `documents[${i}]`, message: 'must not be empty' });
      else if (document.length > this.limits.maxChars) long.push({ path: `documents[${i}]`, message: `at most ${this.limits.maxChars} characters` });
    });
    if (empty.length > 0) throw new ValidationError('A document is empty.', empty);
    if (long.length > 0) throw new PayloadTooLargeError(`A document is longer than ${this.limits.maxChars} characters.`, long);
  }
}
