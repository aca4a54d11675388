import { InferenceError, type Embeddings, type TokenizedText } from '../../src/domain/index.js';
import type { EmbeddingModel } from '../../src/ports/embedding-model.js';

/**
 * A model that tokenizes one token per character and embeds a text as
 * [its token count, first char code]. It records every inference, and refuses
 * any batch that holds the text "boom".
 */
export class StubModel implements EmbeddingModel {
  readonly info = { id: 'stub', engine: 'onnx' as const, dimensions: 2, maxTokens: 64, pooling: 'mean' as const, normalize: false };
  readonly batches: string[][] = [];

  async embed(texts: readonly string[]): Promise<Embeddings> {
    const tokens = await this.tokenize(texts);
    return { vectors: await this.embedTokenized(tokens), tokenCounts: tokens.map((t) => t.ids.length) };
  }

  async tokenize(texts: readonly string[]): Promise<readonly TokenizedText[]> {
    return texts.map((t) => ({ ids: Array.from(t.slice(0, this.info.maxTokens), (c) => c.charCodeAt(0)) }));
  }

  async embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    const texts = batch.map((t) => String.fromCharCode(...t.ids));
    this.batches.push(texts);
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (texts.includes('boom')) throw new InferenceError('stub model cannot embed "boom"');
    return batch.map((t) => Float32Array.of(t.ids.length, t.ids[0] ?? 0));
  }

  get calls(): number {
    return this.batches.length;
  }

  async close() {}
}

/**
 * A stub whose inferences wait until `release()`: for tests that need work in
 * flight. `hold()` makes later inferences wait again, until the next release.
 */
export function gatedModel(): { model: StubModel; release(): void; hold(): void } {
  let gate: Promise<void> | undefined;
  let open: () => void = () => undefined;
  const hold = () => {
    gate = new Promise<void>((resolve) => (open = resolve));
  };
  hold();
  const model = new StubModel();
  const embed = model.embedTokenized.bind(model);
  model.embedTokenized = async (batch) => {
    await gate;
    return embed(batch);
  };
  return {
    model,
    release: () => {
      open();
      gate = undefined;
    },
    hold,
  };
}
