import type { LongTextChoice } from './long-text.js';
import type { Principal } from './principal.js';
import type { PromptChoice } from './prompts.js';
import type { RerankQuery } from './rerank.js';
import type { Allowance } from './rate-limits.js';
import type { Task, TextInput } from './task.js';
import type { TextChunk } from './embedding.js';
import type { TextTruncation } from './truncation.js';

/** What a client asks for; `model` and `priority` fall back to the defaults. */
export interface EmbeddingRequest {
  readonly inputs: readonly TextInput[];
  readonly model?: string;
  readonly priority?: number;
  readonly requestId?: string;
  /** When the result stops being of use to anyone. */
  readonly deadline?: Date;
  /** The key that asks: the task will be its own, and its tokens come from the key's allowance. */
  readonly caller?: Principal;
  /** Present for reranking: `inputs` are the documents, scored against this query. */
  readonly rerank?: RerankQuery;
  /** Which of the model's prompts goes before each text; its default prompt, if any, when absent. */
  readonly prompt?: PromptChoice;
  /** How texts too long for the model are cut, or refused; absent: cut at the end. */
  readonly truncation?: TextTruncation;
  /** What a text too long for the model gets (`long_text`); absent: as `truncation` says, or as the model is configured. */
  readonly longText?: LongTextChoice;
  /** As the task's. */
  readonly normalize?: false;
}

/** What a synchronous request for embeddings gets back, whichever route's shape it is then given in. */
export interface EmbeddingsAnswer {
  readonly model: string;
  /** The task that embedded the texts the cache did not hold; absent when it held them all. */
  readonly task?: Task;
  readonly vectors: readonly Float32Array[];
  /** Tokens the model read for the inputs, whether now or when their cached vectors were made. */
  readonly promptTokens: number;
  /** Tokens cut from each input to fit the model, in input order; absent when none were. */
  readonly droppedTokens?: readonly number[];
  /** Each input's windows (`long_text: chunks`). */
  readonly chunks?: readonly (readonly TextChunk[])[];
  /** Inputs the embedding cache answered. */
  readonly cached: number;
  /** The caller's tokens allowance after this request; undefined when tokens are not limited. */
  readonly tokens: Allowance | undefined;
}
