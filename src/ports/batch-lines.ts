import type { DomainError, TextInput } from '../domain/index.js';

/** One request line of a batch's input file, read and checked against the endpoint's schema. */
export interface BatchRequestLine {
  readonly customId: string;
  readonly model?: string;
  readonly inputs: readonly TextInput[];
  readonly encoding: 'float' | 'base64';
  readonly dimensions?: number;
}

export type ParsedLine = { readonly ok: true; readonly request: BatchRequestLine } | { readonly ok: false; readonly customId?: string; readonly error: DomainError };

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
  /** Never throws: a line that is not a good request is answered with the error the endpoint would give. */
  parse(text: string): ParsedLine;
  /** Every output line ends in a newline. */
  succeeded(
    line: LineIdentity,
    answer: { model: string; vectors: readonly Float32Array[]; tokens: number; encoding: 'float' | 'base64' },
  ): string;
  failed(line: LineIdentity, error: DomainError): string;
  /** A line that never ran: the batch expired or was cancelled first. */
  abandoned(line: LineIdentity, reason: 'batch_expired' | 'batch_cancelled'): string;
}
