import { z } from 'zod';
import { DomainError, EMBEDDINGS_ENDPOINT, MalformedRequestError, type BatchEndpoint, type TextInput } from '../../domain/index.js';
import type { BatchLines, BatchRequestLine, LineAnswer, LineIdentity, ParsedLine } from '../../ports/batch-lines.js';
import { openAiError } from './problem.js';
import { embeddingsBody, longTextChoice, OpenAiEmbeddingRequestSchema, toInputs } from './wire/embeddings.js';
import { documentTexts, rerankBody, RerankRequestSchema } from './wire/rerank.js';
import { schemaError } from './validation.js';

/** The envelope of an input line; its `body` is then checked as the endpoint checks a request's. */
const envelope = (endpoint: BatchEndpoint) =>
  z.object({
    custom_id: z.string({ error: 'must be a string' }).min(1).max(512),
    method: z.literal('POST', { error: "must be 'POST'" }),
    url: z.literal(endpoint, { error: `must be '${endpoint}', the endpoint of this batch` }),
    body: z.record(z.string(), z.unknown(), { error: 'must be an object: the request’s JSON body' }),
  });

const ENVELOPES = { '/v1/embeddings': envelope('/v1/embeddings'), '/v1/rerank': envelope('/v1/rerank') } as const satisfies Record<BatchEndpoint, unknown>;

/** OpenAI's Batch API files, for `/v1/embeddings` and `/v1/rerank`: answers rendered exactly as those routes render them. */
export class OpenAiBatchLines implements BatchLines {
  parse(text: string, endpoint: BatchEndpoint): ParsedLine {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return { ok: false, error: new MalformedRequestError(`The line is not JSON: ${(error as Error).message}`) };
    }
    const customId = (json as { custom_id?: unknown } | null)?.custom_id;
    const known = typeof customId === 'string' && customId.length > 0 ? { customId } : {};
    const line = ENVELOPES[endpoint].safeParse(json);
    if (!line.success) return { ok: false, ...known, error: schemaError(line.error.issues, 'The line is not a batch request.', '(line)') };
    const request = endpoint === EMBEDDINGS_ENDPOINT ? embeddingsLine(line.data.custom_id, line.data.body) : rerankLine(line.data.custom_id, line.data.body);
    return 'error' in request ? { ok: false, ...known, error: request.error } : { ok: true, request };
  }

  succeeded(line: LineIdentity, answer: LineAnswer): string {
    const body =
      answer.kind === 'embeddings'
        ? embeddingsBody(answer.model, answer.vectors, answer.tokens, answer.encoding, { droppedTokens: answer.droppedTokens, chunks: answer.chunks })
        : rerankBody({ taskId: answer.taskId, model: answer.model, promptTokens: answer.tokens, results: answer.results, documents: answer.documents });
    return render(line, { status_code: 200, request_id: line.requestId, body }, null);
  }

  failed(line: LineIdentity, error: DomainError, endpoint: BatchEndpoint): string {
    const { status, body } = openAiError(error, endpoint);
    return render(line, { status_code: status, request_id: line.requestId, body }, null);
  }

  abandoned(line: LineIdentity, reason: 'batch_expired' | 'batch_cancelled'): string {
    const message =
      reason === 'batch_expired'
        ? 'This request could not be executed before the completion window expired.'
        : 'This request was not executed: its batch was cancelled first.';
    return render(line, null, { code: reason, message });
  }
}

type LineRequest = BatchRequestLine | { readonly error: DomainError };

function embeddingsLine(customId: string, json: unknown): LineRequest {
  const body = OpenAiEmbeddingRequestSchema.safeParse(json);
  if (!body.success) return { error: schemaError(body.error.issues) };
  const request = body.data;
  let longText: ReturnType<typeof longTextChoice>;
  try {
    longText = longTextChoice(request.long_text, request.chunk_overlap_tokens);
  } catch (error) {
    if (error instanceof DomainError) return { error };
    throw error;
  }
  return {
    kind: 'embeddings',
    customId,
    inputs: toInputs<TextInput>(request.input),
    encoding: request.encoding_format ?? 'float',
    ...(request.model !== undefined && { model: request.model }),
    ...(request.dimensions !== undefined && { dimensions: request.dimensions }),
    ...(request.input_type !== undefined && { prompt: { inputType: request.input_type } }),
    ...longText,
  };
}

/** As POST /v1/rerank reads its body; a line's `priority` is not used (every line runs on the bulk lane). */
function rerankLine(customId: string, json: unknown): LineRequest {
  const body = RerankRequestSchema.safeParse(json);
  if (!body.success) return { error: schemaError(body.error.issues) };
  const request = body.data;
  return {
    kind: 'rerank',
    customId,
    query: request.query,
    documents: documentTexts(request.documents),
    returnDocuments: request.return_documents ?? true,
    ...(request.model !== undefined && { model: request.model }),
    ...(request.top_n !== undefined && { topN: request.top_n }),
    ...(request.raw_scores !== undefined && { rawScores: request.raw_scores }),
    ...(request.max_tokens_per_doc !== undefined && { maxDocumentTokens: request.max_tokens_per_doc }),
  };
}

function render(line: LineIdentity, response: object | null, error: { code: string; message: string } | null): string {
  return `${JSON.stringify({ id: line.id, custom_id: line.customId ?? null, response, error })}\n`;
}
