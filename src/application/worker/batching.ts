import type { Lane, TokenizedText } from '../../domain/index.js';
import type { SpanReference } from '../../ports/tracing.js';

/**
 * One inference over a batch: one row of output per tokenized text (a
 * vector, or a pair's logits), in order. `requests` are the spans of the
 * requests whose texts it holds, each once.
 */
export type BatchInference = (batch: readonly TokenizedText[], requests: readonly SpanReference[]) => Promise<readonly Float32Array[]>;

export interface BatchingOptions {
  /** Most texts in one inference. */
  readonly maxBatchSize: number;
  /** Most padded tokens in one inference: texts × the longest text's tokens. */
  readonly maxBatchTokens: number;
  /** How long an idle model waits for company before running a lone request. */
  readonly lingerMs: number;
  /** false: each task is its own inference, whatever else waits (the baseline batching is measured against). */
  readonly mergeTasks: boolean;
  /**
   * Most texts in one bulk inference while interactive requests are about
   * (one came within `INTERACTIVE_QUIET_MS`): an interactive request that
   * arrives during a bulk inference waits for it to end, so this bounds
   * that wait. With no interactive traffic, bulk batches are `maxBatchSize`.
   */
  readonly maxBulkBatchSize: number;
}

export interface BatchReport {
  readonly texts: number;
  readonly tasks: number;
  /** Real tokens (what usage counts), not padding. */
  readonly tokens: number;
  readonly seconds: number;
}

/** Where a task's texts come from: its lane, its priority (0–9), and the span of its request. */
export interface JobOrigin {
  readonly lane?: Lane | undefined;
  readonly priority?: number | undefined;
  readonly span?: SpanReference | undefined;
}
