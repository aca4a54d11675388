import { InvalidTransitionError } from './errors.js';

/**
 * OpenAI's batch statuses. `validating` until the input file has been
 * checked, `in_progress` while lines are dispatched and run, `finalizing`
 * while the output and error files are written; `cancelling` after a cancel,
 * until the work already running has finished.
 */
export const BATCH_STATUSES = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** How a batch can end, run or not. */
export const FINAL_BATCH_STATUS_LIST = ['completed', 'failed', 'expired', 'cancelled'] as const satisfies readonly BatchStatus[];
export type FinalBatchStatus = (typeof FINAL_BATCH_STATUS_LIST)[number];
export const FINAL_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set(FINAL_BATCH_STATUS_LIST);

/** OpenAI-style ids, made from a fresh id: `file-…`, `batch_…`, `batch_req_…`. */
export const ID_PREFIXES = { file: 'file-', batch: 'batch_', batchRequest: 'batch_req_' } as const;

export function prefixedId(kind: keyof typeof ID_PREFIXES, fresh: string): string {
  return `${ID_PREFIXES[kind]}${fresh.replaceAll('-', '')}`;
}

/**
 * The id of a batch's output or error file: derived from the batch's, so that
 * a batch finished twice writes each file once; two hex digits longer than an
 * upload's id, so never one of them.
 */
export function batchFileId(batchId: string, kind: 'output' | 'error'): string {
  return `${ID_PREFIXES.file}${batchId.slice(ID_PREFIXES.batch.length)}${kind === 'output' ? '0a' : '0e'}`;
}

/** A problem with the batch as a whole (its input file), in OpenAI's `errors.data` shape. */
export interface BatchError {
  readonly code: string;
  readonly message: string;
  readonly param?: string;
  readonly line?: number;
}

export interface RequestCounts {
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
}

/** OpenAI's embeddings endpoint: the synchronous route, and what a batch's lines call. */
export const EMBEDDINGS_ENDPOINT = '/v1/embeddings';
/** The task routes, beside it. */
export const TASKS_ENDPOINT = `${EMBEDDINGS_ENDPOINT}/tasks`;
/** Jina's and vLLM's rerank route (Cohere's and TEI's have their own paths). */
export const RERANK_ENDPOINT = '/v1/rerank';
/** What a batch's lines may call: a batch names one, and each of its lines calls that one (as OpenAI's do). */
export const BATCH_ENDPOINTS = [EMBEDDINGS_ENDPOINT, RERANK_ENDPOINT] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export function isBatchEndpoint(endpoint: string): endpoint is BatchEndpoint {
  return (BATCH_ENDPOINTS as readonly string[]).includes(endpoint);
}
/** The one completion window OpenAI offers. */
export const BATCH_WINDOW = '24h';
export const BATCH_WINDOW_MS = 24 * 3_600_000;

/**
 * A bulk job: every line of an uploaded JSONL file, each a request to the
 * batch's endpoint (embeddings or rerank), run on the bulk lane; each line's answer is written to the output
 * file (or, for a line that failed, to the error file) exactly once.
 */
export interface Batch {
  /** `batch_…`, as OpenAI's ids are. */
  readonly id: string;
  readonly endpoint: BatchEndpoint;
  readonly inputFileId: string;
  readonly completionWindow: typeof BATCH_WINDOW;
  readonly status: BatchStatus;
  readonly createdAt: Date;
  /** Past this, the batch ends `expired` with what it finished. */
  readonly expiresAt: Date;
  readonly inProgressAt?: Date;
  readonly finalizingAt?: Date;
  readonly completedAt?: Date;
  readonly failedAt?: Date;
  readonly expiredAt?: Date;
  readonly cancellingAt?: Date;
  readonly cancelledAt?: Date;
  readonly outputFileId?: string;
  readonly errorFileId?: string;
  readonly errors?: readonly BatchError[];
  readonly requestCounts: RequestCounts;
  /** Tokens the lines that succeeded used. */
  readonly usageTokens: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /** The name of the API key that created it; absent when the service ran open. */
  readonly owner?: string;
  /**
   * The trace context of the request that created it (W3C `traceparent`,
   * `tracestate`), which its run continues: its lines' tasks are spans of
   * that trace. Absent when nothing traced.
   */
  readonly trace?: Readonly<Record<string, string>>;
}

export function newBatch(fields: {
  id: string;
  endpoint: BatchEndpoint;
  inputFileId: string;
  now: Date;
  metadata?: Readonly<Record<string, string>>;
  owner?: string;
  trace?: Readonly<Record<string, string>>;
}): Batch {
  return {
    id: fields.id,
    endpoint: fields.endpoint,
    inputFileId: fields.inputFileId,
    completionWindow: BATCH_WINDOW,
    status: 'validating',
    createdAt: fields.now,
    expiresAt: new Date(fields.now.getTime() + BATCH_WINDOW_MS),
    requestCounts: { total: 0, completed: 0, failed: 0 },
    usageTokens: 0,
    ...(fields.metadata !== undefined && { metadata: fields.metadata }),
    ...(fields.owner !== undefined && { owner: fields.owner }),
    ...(fields.trace !== undefined && { trace: fields.trace }),
  };
}

export function isFinalBatch(batch: Pick<Batch, 'status'>): boolean {
  return FINAL_BATCH_STATUSES.has(batch.status);
}

/** validating → in_progress, once the input file is known good; `total` is its line count. */
export function startBatch(batch: Batch, total: number, now: Date): Batch {
  if (batch.status !== 'validating') return batch;
  return { ...batch, status: 'in_progress', inProgressAt: now, requestCounts: { ...batch.requestCounts, total } };
}

/** validating | in_progress → cancelling: nothing more is dispatched; what runs finishes. */
export function cancelBatch(batch: Batch, now: Date): Batch {
  if (batch.status === 'cancelling' || batch.status === 'cancelled') return batch;
  if (isFinalBatch(batch) || batch.status === 'finalizing') {
    throw new InvalidTransitionError(`Batch ${batch.id} is ${batch.status}; it cannot be cancelled.`);
  }
  return { ...batch, status: 'cancelling', cancellingAt: now };
}

/** The batch as a whole cannot run (its input file is gone or of the wrong kind). */
export function failBatch(batch: Batch, errors: readonly BatchError[], now: Date): Batch {
  if (isFinalBatch(batch)) return batch;
  return { ...batch, status: 'failed', failedAt: now, errors };
}

/** How a batch that ran ends: every line done, given up at its window, or cancelled. */
export type BatchEnding = 'completed' | 'expired' | 'cancelled';

export function finalizeBatch(batch: Batch, now: Date): Batch {
  if (batch.status !== 'in_progress') return batch;
  return { ...batch, status: 'finalizing', finalizingAt: now };
}

export function endBatch(batch: Batch, ending: BatchEnding, files: { outputFileId?: string; errorFileId?: string }, now: Date): Batch {
  if (isFinalBatch(batch)) return batch;
  const at = ending === 'completed' ? { completedAt: now } : ending === 'expired' ? { expiredAt: now } : { cancelledAt: now };
  return { ...batch, status: ending, ...at, ...files };
}

/** What a batch's run has counted so far, replaced whole (it is recounted from the recorded outcomes). */
export function countBatch(batch: Batch, counts: { completed: number; failed: number; usageTokens: number }): Batch {
  return { ...batch, requestCounts: { ...batch.requestCounts, completed: counts.completed, failed: counts.failed }, usageTokens: counts.usageTokens };
}
