/**
 * A text as a model's tokenizer cut it: token ids after truncation, special
 * tokens included, and segment ids where the model takes them. Its length is
 * what the text costs in a batch and what usage counts.
 */
export interface TokenizedText {
  readonly ids: readonly number[];
  readonly typeIds?: readonly number[];
  /** Tokens cut from the text to fit the model; absent when none were. */
  readonly dropped?: number;
  /**
   * A text too long for the model, asked to be embedded whole: its windows,
   * each wrapped in the model's special tokens (`ids` is then the first).
   */
  readonly windows?: readonly TextWindow[];
}

/** One window of a long text: its tokens, and where it lies in the text (UTF-16 offsets, end exclusive) when the tokenizer says. */
export interface TextWindow extends Omit<TokenizedText, 'windows' | 'dropped'> {
  readonly span?: { readonly start: number; readonly end: number };
}

/** A window of a long text, embedded: its vector, its place in the text, and the tokens it holds (special tokens included). */
export interface TextChunk {
  readonly vector: Float32Array;
  readonly span?: { readonly start: number; readonly end: number };
  readonly tokens: number;
}

/**
 * One token of a text as its model's tokenizer reads it (what TEI's
 * /tokenize shows). A special token (`[CLS]`) covers no part of the text.
 */
export interface TextToken {
  readonly id: number;
  /** The part of the text it covers, or a special token's own name. */
  readonly text: string;
  readonly special: boolean;
  /** Where in the text it lies, in characters (Unicode code points), end exclusive; absent for a special token. */
  readonly span?: { readonly start: number; readonly stop: number };
}

/** Vectors for a list of inputs, in input order, with the tokens each input used. */
export interface Embeddings {
  readonly vectors: readonly Float32Array[];
  /** Tokens per input after truncation, special tokens included (what the model saw). */
  readonly tokenCounts: readonly number[];
  /** How long tokenizing the inputs took, when the worker measured it apart from inference. */
  readonly tokenizationMs?: number;
  /** Tokens cut from each input to fit the model, in input order; absent when no input was cut. */
  readonly droppedTokens?: readonly number[];
  /** Each input's windows, embedded (`long_text: chunks`), in input order; absent when not asked. */
  readonly chunks?: readonly (readonly TextChunk[])[];
}

export interface EmbeddingResult {
  readonly vectors: readonly Float32Array[];
  readonly dimensions: number;
  readonly usage: { readonly promptTokens: number; readonly totalTokens: number };
  /** Tokens per input, in input order: what each of a bulk task's lines used. */
  readonly tokenCounts?: readonly number[];
  /** Of the task's run, how long tokenizing took (TEI's `x-tokenization-time`); the rest was batching and inference. */
  readonly tokenizationMs?: number;
  /** Tokens cut from each input to fit the model (the model never saw them), in input order; absent when no input was cut. */
  readonly droppedTokens?: readonly number[];
  /** Each input's windows, embedded (`long_text: chunks`), in input order: one for a text that fit in one. */
  readonly chunks?: readonly (readonly TextChunk[])[];
}

export function toResult(embeddings: Embeddings): EmbeddingResult {
  const promptTokens = embeddings.tokenCounts.reduce((sum, n) => sum + n, 0);
  return {
    vectors: embeddings.vectors,
    dimensions: embeddings.vectors[0]?.length ?? 0,
    usage: { promptTokens, totalTokens: promptTokens },
    tokenCounts: embeddings.tokenCounts,
    ...(embeddings.tokenizationMs !== undefined && { tokenizationMs: embeddings.tokenizationMs }),
    ...(embeddings.droppedTokens?.some((n) => n > 0) && { droppedTokens: embeddings.droppedTokens }),
    ...(embeddings.chunks && { chunks: embeddings.chunks }),
  };
}

/**
 * The part of a result that answers its inputs `start` to `end`: their
 * vectors, token counts and what they lost, their usage counted from their
 * own token counts. Only for a result with token counts and without
 * windows' chunks, whose inputs are answered one row each.
 */
export function sliceResult(result: EmbeddingResult, start: number, end: number): EmbeddingResult {
  const tokenCounts = result.tokenCounts!.slice(start, end);
  const promptTokens = tokenCounts.reduce((sum, n) => sum + n, 0);
  const droppedTokens = result.droppedTokens?.slice(start, end);
  return {
    vectors: result.vectors.slice(start, end),
    dimensions: result.dimensions,
    usage: { promptTokens, totalTokens: promptTokens },
    tokenCounts,
    ...(result.tokenizationMs !== undefined && { tokenizationMs: result.tokenizationMs }),
    ...(droppedTokens?.some((n) => n > 0) && { droppedTokens }),
  };
}

/** What each of `texts` lost to fit its model, for `Embeddings.droppedTokens`: absent when none lost any. */
export function droppedTokensOf(texts: readonly TokenizedText[]): readonly number[] | undefined {
  return texts.some((text) => (text.dropped ?? 0) > 0) ? texts.map((text) => text.dropped ?? 0) : undefined;
}
