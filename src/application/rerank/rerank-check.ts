import {
  InvalidParameterError,
  ModelNotFoundError,
  PayloadTooLargeError,
  requireKind,
  ValidationError,
  type FieldIssue,
  type ModelDescriptor,
} from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';

/** What is checked of any rerank request, whichever route or batch line it comes by. */
export interface CheckedRerank {
  readonly query: string;
  readonly documents: readonly string[];
  /** The default reranker when absent. */
  readonly model?: string;
}

export interface RerankLimits {
  readonly maxDocuments: number;
  /** Characters of the query, and of each document. */
  readonly maxChars: number;
}

/**
 * The one check a rerank request passes before it becomes a task, on each
 * rerank route and every batch line alike: a query, documents within the
 * limits, and a reranker that exists (the default one when it names none).
 * Each refusal is a `DomainError` naming what is wrong.
 */
export class RerankCheck {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly limits: RerankLimits,
    /** The configured default reranker, else the first; undefined when none is configured. */
    private readonly defaultRerankerId: string | undefined,
  ) {}

  async execute(request: CheckedRerank): Promise<ModelDescriptor> {
    this.checkTexts(request);
    const modelId = request.model ?? this.defaultRerankerId;
    if (modelId === undefined) throw new InvalidParameterError('model', 'This service has no reranker: configure one (kind: reranker in ml_config.yaml).');
    const model = await this.catalog.find(modelId);
    if (!model) throw new ModelNotFoundError(modelId);
    requireKind(model, 'reranker');
    return model;
  }

  private checkTexts({ query, documents }: CheckedRerank): void {
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
