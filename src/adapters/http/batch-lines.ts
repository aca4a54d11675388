import { z } from 'zod';
import type { DomainError} from '../../domain/index.js';
import { BATCH_ENDPOINT, MalformedRequestError, type TextInput } from '../../domain/index.js';
import type { BatchLines, LineIdentity, ParsedLine } from '../../ports/batch-lines.js';
import { openAiError } from './problem.js';
import { embeddingsBody, OpenAiEmbeddingRequestSchema, toInputs } from './wire/embeddings.js';
import { schemaError } from './validation.js';

/** The envelope of an input line; its `body` is then checked as the endpoint checks a request's. */
const Envelope = z.object({
  custom_id: z.string({ error: 'must be a string' }).min(1).max(512),
  method: z.literal('POST', { error: "must be 'POST'" }),
  url: z.literal(BATCH_ENDPOINT, { error: `must be '${BATCH_ENDPOINT}', the endpoint of this batch` }),
  body: z.record(z.string(), z.unknown(), { error: 'must be an object: the request’s JSON body' }),
});

/** OpenAI's Batch API files, for `/v1/embeddings`: answers rendered exactly as that route renders them. */
export class OpenAiBatchLines implements BatchLines {
  parse(text: string): ParsedLine {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return { ok: false, error: new MalformedRequestError(`The line is not JSON: ${(error as Error).message}`) };
    }
    const customId = (json as { custom_id?: unknown } | null)?.custom_id;
    const known = typeof customId === 'string' && customId.length > 0 ? { customId } : {};
    const envelope = Envelope.safeParse(json);
    if (!envelope.success) return { ok: false, ...known, error: schemaError(envelope.error.issues, 'The line is not a batch request.', '(line)') };
    const body = OpenAiEmbeddingRequestSchema.safeParse(envelope.data.body);
    if (!body.success) return { ok: false, ...known, error: schemaError(body.error.issues) };
    const request = body.data;
    return {
      ok: true,
      request: {
        customId: envelope.data.custom_id,
        inputs: toInputs(request.input) as TextInput[],
        encoding: request.encoding_format ?? 'float',
        ...(request.model !== undefined && { model: request.model }),
        ...(request.dimensions !== undefined && { dimensions: request.dimensions }),
      },
    };
  }

  succeeded(line: LineIdentity, answer: { model: string; vectors: readonly Float32Array[]; tokens: number; encoding: 'float' | 'base64' }): string {
    return render(line, { status_code: 200, request_id: line.requestId, body: embeddingsBody(answer.model, answer.vectors, answer.tokens, answer.encoding) }, null);
  }

  failed(line: LineIdentity, error: DomainError): string {
    const { status, body } = openAiError(error, BATCH_ENDPOINT);
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

function render(line: LineIdentity, response: object | null, error: { code: string; message: string } | null): string {
  return `${JSON.stringify({ id: line.id, custom_id: line.customId ?? null, response, error })}\n`;
}
