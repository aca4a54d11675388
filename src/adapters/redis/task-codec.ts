import type { EmbeddingResult, FailureKind, TextChunk, Lane, FieldIssue, RerankQuery, Task, TextTruncation, TaskFailure, TaskStatus, TextInput } from '../../domain/index.js';

/*
 * A task is one Redis hash. Vectors are stored as one field of raw
 * little-endian float32 bytes (4 bytes a dimension), not as JSON numbers:
 * a third of the size, and no float formatting on the hot path.
 */

export type Fields = Record<string, string | Buffer>;

export function encodeTask(task: Task): Fields {
  const fields: Fields = {
    model: task.model,
    inputs: JSON.stringify(task.inputs),
    input_count: String(task.inputCount),
    priority: String(task.priority),
    status: task.status,
    created_at: String(task.createdAt.getTime()),
    attempts: String(task.attempts),
  };
  if (task.startedAt) fields.started_at = String(task.startedAt.getTime());
  if (task.finishedAt) fields.finished_at = String(task.finishedAt.getTime());
  if (task.error !== undefined) fields.error = task.error;
  if (task.failure !== undefined) fields.failure = task.failure;
  if (task.issues !== undefined) fields.issues = JSON.stringify(task.issues);
  if (task.requestId !== undefined) fields.request_id = task.requestId;
  if (task.deadline !== undefined) fields.deadline = String(task.deadline.getTime());
  if (task.owner !== undefined) fields.owner = task.owner;
  if (task.lane !== undefined) fields.lane = task.lane;
  if (task.rerank !== undefined) fields.rerank = JSON.stringify(task.rerank);
  if (task.truncation !== undefined) fields.truncation = JSON.stringify(task.truncation);
  if (task.normalize === false) fields.normalize = '0';
  if (task.result) Object.assign(fields, encodeResult(task.result));
  return fields;
}

export function encodeFailure(failure: TaskFailure): Fields {
  return {
    error: failure.reason,
    failure: failure.kind,
    ...(failure.issues && failure.issues.length > 0 && { issues: JSON.stringify(failure.issues) }),
  };
}

export function encodeResult(result: EmbeddingResult): Fields {
  const bytes = Buffer.alloc(result.vectors.length * result.dimensions * 4);
  result.vectors.forEach((vector, i) => {
    const offset = i * result.dimensions * 4;
    for (let d = 0; d < result.dimensions; d++) bytes.writeFloatLE(vector[d]!, offset + d * 4);
  });
  return {
    dimensions: String(result.dimensions),
    vector_count: String(result.vectors.length),
    prompt_tokens: String(result.usage.promptTokens),
    total_tokens: String(result.usage.totalTokens),
    ...(result.tokenCounts && { token_counts: JSON.stringify(result.tokenCounts) }),
    ...(result.tokenizationMs !== undefined && { tokenization_ms: String(result.tokenizationMs) }),
    ...(result.droppedTokens && { dropped_tokens: JSON.stringify(result.droppedTokens) }),
    ...(result.chunks && { chunks: JSON.stringify(result.chunks.map((chunks) => chunks.map(({ vector, ...chunk }) => ({ ...chunk, vector: floatsToBase64(vector) })))) }),
    vectors: bytes,
  };
}

/** Decodes HGETALL's reply (buffers), or returns undefined for an empty hash (no such task). */
export function decodeTask(id: string, raw: Record<string, Buffer>): Task | undefined {
  if (!raw.status) return undefined;
  const text = (name: string) => raw[name]?.toString('utf8');
  const time = (name: string) => {
    const value = text(name);
    return value === undefined ? undefined : new Date(Number(value));
  };
  const startedAt = time('started_at');
  const finishedAt = time('finished_at');
  const error = text('error');
  const failure = text('failure') as FailureKind | undefined;
  const requestId = text('request_id');
  const deadline = time('deadline');
  const owner = text('owner');
  const lane = text('lane') as Lane | undefined;
  const issues = text('issues');
  const rerank = text('rerank');
  const truncation = text('truncation');
  const result = decodeResult(raw);
  return {
    id,
    model: text('model')!,
    // A final task's inputs were deleted with its last transition.
    inputs: raw.inputs ? (JSON.parse(text('inputs')!) as TextInput[]) : [],
    inputCount: Number(text('input_count') ?? 0),
    priority: Number(text('priority')),
    status: text('status') as TaskStatus,
    createdAt: time('created_at')!,
    attempts: Number(text('attempts') ?? 0),
    ...(startedAt && { startedAt }),
    ...(finishedAt && { finishedAt }),
    ...(error !== undefined && { error }),
    ...(failure !== undefined && { failure }),
    ...(issues !== undefined && { issues: JSON.parse(issues) as FieldIssue[] }),
    ...(requestId !== undefined && { requestId }),
    ...(deadline && { deadline }),
    ...(owner !== undefined && { owner }),
    ...(lane === 'bulk' && { lane }),
    ...(rerank !== undefined && { rerank: JSON.parse(rerank) as RerankQuery }),
    ...(truncation !== undefined && { truncation: JSON.parse(truncation) as TextTruncation }),
    ...(text('normalize') === '0' && { normalize: false as const }),
    ...(result && { result }),
  };
}

function decodeResult(raw: Record<string, Buffer>): EmbeddingResult | undefined {
  const bytes = raw.vectors;
  if (!bytes) return undefined;
  const dimensions = Number(raw.dimensions!.toString());
  const count = Number(raw.vector_count!.toString());
  const vectors: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const vector = new Float32Array(dimensions);
    const offset = i * dimensions * 4;
    for (let d = 0; d < dimensions; d++) vector[d] = bytes.readFloatLE(offset + d * 4);
    vectors.push(vector);
  }
  const tokenCounts = raw.token_counts?.toString('utf8');
  return {
    vectors,
    dimensions,
    usage: { promptTokens: Number(raw.prompt_tokens!.toString()), totalTokens: Number(raw.total_tokens!.toString()) },
    ...(tokenCounts !== undefined && { tokenCounts: JSON.parse(tokenCounts) as number[] }),
    ...(raw.tokenization_ms && { tokenizationMs: Number(raw.tokenization_ms.toString()) }),
    ...(raw.dropped_tokens && { droppedTokens: JSON.parse(raw.dropped_tokens.toString('utf8')) as number[] }),
    ...(raw.chunks && { chunks: decodeChunks(raw.chunks.toString('utf8')) }),
  };
}

/** HGETALL-shaped flat reply [k1, v1, k2, v2, …] → record. */
export function pairs(flat: Buffer[]): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!.toString('utf8')] = flat[i + 1]!;
  return out;
}

type StoredChunk = Omit<TextChunk, 'vector'> & { readonly vector: string };

/** A result's chunks (`long_text: chunks`): their places and tokens as JSON, each vector as base64 of little-endian float32. */
function decodeChunks(json: string): TextChunk[][] {
  return (JSON.parse(json) as StoredChunk[][]).map((chunks) => chunks.map(({ vector, ...chunk }) => ({ ...chunk, vector: base64ToFloats(vector) })));
}

function floatsToBase64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

function base64ToFloats(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const vector = new Float32Array(bytes.length / 4);
  for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
  return vector;
}
