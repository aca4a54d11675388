import type {
  BatchEndpoint,
  DomainError,
  LongTextChoice,
  PromptChoice,
  RankedDocument,
  Ranking,
  TextChunk,
  TextInput,
  TextTruncation,
  VectorEncoding,
} from '../domain/index.js';

/** A line of a batch on `/v1/embeddings`, read and checked against that endpoint's schema. */
export interface EmbeddingsLine {
  readonly kind: 'embeddings';
  readonly customId: string;
  readonly model?: string;
  readonly inputs: readonly TextInput[];
  readonly encoding: VectorEncoding;
  readonly dimensions?: number;
  readonly prompt?: PromptChoice;
  /** What a text too long for the model gets (`long_text`); absent: the model's setting. */
  readonly longText?: LongTextChoice;
  /** How its texts are cut, or embedded whole, once checked against its model. */
  readonly truncation?: TextTruncation;
}

/** A line of a batch on `/v1/rerank`, read and checked against that endpoint's schema. */
export interface RerankLine extends Ranking {
  readonly kind: 'rerank';
  readonly customId: string;
  readonly model?: string;
  readonly query: string;
  readonly documents: readonly string[];
  /** Whether each result carries its document's text. */
  readonly returnDocuments: boolean;
  readonly maxDocumentTokens?: number;
}

/** One request line of a batch's input file. */
export type BatchRequestLine = EmbeddingsLine | RerankLine;

export type ParsedLine = { readonly ok: true; readonly request: BatchRequestLine } | { readonly ok: false; readonly customId?: string; readonly error: DomainError };

/** What a line that succeeded came to, to be rendered as its endpoint renders an answer. */
export type LineAnswer =
  | {
      readonly kind: 'embeddings';
      readonly model: string;
      readonly vectors: readonly Float32Array[];
      readonly tokens: number;
      readonly encoding: VectorEncoding;
      /** Tokens cut from each input to fit the model, when any was cut. */
      readonly droppedTokens?: readonly number[];
      /** Each input's windows (`long_text: chunks`). */
      readonly chunks?: readonly (readonly TextChunk[])[];
    }
  | {
      readonly kind: 'rerank';
      /** The task that ran it: the sync answer's `id`. */
      readonly taskId: string;
      readonly model: string;
      readonly results: readonly RankedDocument[];
      readonly tokens: number;
      /** The request's documents, when the answer carries their texts. */
      readonly documents?: readonly string[];
    };

/** Which answer a line gets in the output or error file. */
export interface LineIdentity {
  /** `batch_req_…`: the output line's own id. */
  readonly id: string;
  readonly customId?: string;
  /** The id a request of its own would have had (`response.request_id`). */
  readonly requestId: string;
}

/**
 * The wire format of a batch's files (OpenAI's Batch API): input lines
 * `{custom_id, method, url, body}`, and output lines `{id, custom_id,
 * response: {status_code, request_id, body}, error}` whose `body` is exactly
 * what the endpoint would have answered the same request.
 */
export interface BatchLines {
  /** Never throws: a line that is not a good request to `endpoint` is answered with the error the endpoint would give. */
  parse(text: string, endpoint: BatchEndpoint): ParsedLine;
  /** Every output line ends in a newline. */
  succeeded(line: LineIdentity, answer: LineAnswer): string;
  failed(line: LineIdentity, error: DomainError, endpoint: BatchEndpoint): string;
  /** A line that never ran: the batch expired or was cancelled first. */
  abandoned(line: LineIdentity, reason: 'batch_expired' | 'batch_cancelled'): string;
}
