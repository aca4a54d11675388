import type { LongTextChoice } from './long-text.js';
import type { Principal } from './principal.js';
import type { PromptChoice } from './prompts.js';
import type { RerankQuery } from './rerank.js';
import type { TextInput } from './task.js';
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
