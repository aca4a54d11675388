import { checkInputs, ModelNotFoundError, promptFor, withPrompt, type InputLimits, type ModelDescriptor, type PromptChoice, type TextToken } from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';
import type { Tokenizers } from '../../ports/tokenizers.js';

/** Texts as a model's tokenizer reads them: each `text` (its prompt included) with its `tokens`. */
export interface TokenizedTexts {
  readonly model: ModelDescriptor;
  readonly texts: readonly { readonly text: string; readonly tokens: readonly TextToken[] }[];
}

/**
 * A model's tokenizer, shown (TEI's /tokenize and /decode): texts into
 * tokens, the way the model reads them (the prompt it would put first
 * included), and ids back into text. Inputs are bounded by the same limits
 * as embeddings; the default model answers when none is named.
 */
export class ModelTokens {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly tokenizers: Tokenizers,
    private readonly limits: InputLimits,
  ) {}

  async tokenize(request: { model?: string; inputs: readonly string[]; addSpecialTokens: boolean; prompt?: PromptChoice }): Promise<TokenizedTexts> {
    checkInputs(request.inputs, this.limits);
    const model = await this.modelOf(request.model);
    const texts = withPrompt(request.inputs, promptFor(model, request.prompt));
    const tokens = await this.tokenizers.tokenize(model.id, texts, { addSpecialTokens: request.addSpecialTokens });
    return { model, texts: texts.map((text, i) => ({ text, tokens: tokens[i]! })) };
  }

  async decode(request: { model?: string; ids: readonly (readonly number[])[]; skipSpecialTokens: boolean }): Promise<{ model: ModelDescriptor; texts: string[] }> {
    checkInputs(request.ids, this.limits);
    const model = await this.modelOf(request.model);
    return { model, texts: await this.tokenizers.decode(model.id, request.ids, { skipSpecialTokens: request.skipSpecialTokens }) };
  }

  private async modelOf(requested: string | undefined): Promise<ModelDescriptor> {
    const modelId = requested ?? this.catalog.defaultModelId;
    const model = await this.catalog.find(modelId);
    if (!model) throw new ModelNotFoundError(modelId);
    return model;
  }
}
