import { DomainError, MalformedRequestError, ValidationError, type BatchEndpoint, type RerankQuery, type TextInput, type TextTruncation } from '../../domain/index.js';
import type { BatchLines, BatchRequestLine } from '../../ports/batch-lines.js';
import type { PlannedLine } from '../../ports/batch-store.js';
import type { RequestCheck } from '../embeddings/request-check.js';
import type { RerankCheck } from '../rerank/rerank-check.js';
import type { NumberedLine } from './line-reader.js';

/** A line the endpoint would take, and the model it runs on. */
export interface ValidLine {
  readonly line: number;
  readonly request: BatchRequestLine;
  readonly model: string;
}

/** A line the endpoint would refuse, and why. */
export interface Refusal {
  readonly error: DomainError;
  readonly customId?: string;
}

/** What a line's task runs: its texts, how its long texts are taken, and for a rerank line the query they are scored against. */
export interface LineWork {
  readonly inputs: readonly TextInput[];
  readonly truncation?: TextTruncation;
  readonly rerank?: RerankQuery;
}

/**
 * A batch line checked as its endpoint checks a request (schema, limits,
 * model, and the embedding route's dimensions), by the same checks the
 * routes use: a line is refused exactly when the route would refuse it.
 */
export class BatchLineCheck {
  constructor(
    private readonly lines: BatchLines,
    private readonly embeddings: RequestCheck,
    private readonly rerank: RerankCheck,
  ) {}

  /** A line as the endpoint would take it, or the error it would answer (with its custom_id, when it has one); `seen` holds the batch's custom ids so far. */
  async execute(line: NumberedLine, endpoint: BatchEndpoint, seen: ReadonlySet<string>): Promise<ValidLine | Refusal> {
    if (line.text.trim() === '') return { error: new MalformedRequestError('The line is empty: each line must hold one request.') };
    const parsed = this.lines.parse(line.text, endpoint);
    if (!parsed.ok) return { error: parsed.error, ...(parsed.customId !== undefined && { customId: parsed.customId }) };
    const { request } = parsed;
    const refused = (error: DomainError): Refusal => ({ error, customId: request.customId });
    if (seen.has(request.customId)) {
      return refused(
        new ValidationError(`custom_id '${request.customId}' is used by an earlier line; each must be unique in a batch.`, [
          { path: 'custom_id', message: 'must be unique in the batch' },
        ]),
      );
    }
    try {
      if (request.kind === 'rerank') return { line: line.number, request, model: (await this.rerank.execute(request)).id };
      // The line's texts as the model reads them (its prompt before each), and how its long texts are taken.
      const { model, ...checked } = await this.embeddings.execute(request);
      return { line: line.number, request: { ...request, ...checked }, model: model.id };
    } catch (error) {
      if (error instanceof DomainError) return refused(error);
      throw error;
    }
  }
}

/** How many texts a line gives its task: what a chunk's size is counted in. */
export function textCount(request: BatchRequestLine): number {
  return request.kind === 'rerank' ? request.documents.length : request.inputs.length;
}

export function lineWork(request: BatchRequestLine): LineWork {
  if (request.kind === 'embeddings') return { inputs: request.inputs, ...(request.truncation && { truncation: request.truncation }) };
  const { query, maxDocumentTokens } = request;
  return { inputs: request.documents, rerank: { query, ...(maxDocumentTokens !== undefined && { maxDocumentTokens }) } };
}

/** What a line's answer needs, kept with its chunk until the line is answered. */
export function plannedLine({ line, request }: ValidLine): PlannedLine {
  const planned = { line, customId: request.customId, inputs: textCount(request) };
  if (request.kind === 'embeddings') {
    return { ...planned, encoding: request.encoding, ...(request.dimensions !== undefined && { dimensions: request.dimensions }) };
  }
  const { topN, rawScores, returnDocuments, documents } = request;
  return {
    ...planned,
    rerank: { ...(topN !== undefined && { topN }), ...(rawScores !== undefined && { rawScores }), ...(returnDocuments && { documents }) },
  };
}
