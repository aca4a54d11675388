import {
  checkInputs,
  checkOutputDimensions,
  ModelNotFoundError,
  promptFor,
  requireKind,
  withLongText,
  withPrompt,
  type InputLimits,
  type LongTextChoice,
  type ModelDescriptor,
  type PromptChoice,
  type TextInput,
  type TextTruncation,
} from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';

/** What is checked of any request for embeddings, whichever route or batch line it comes by. */
export interface CheckedRequest {
  readonly inputs: readonly TextInput[];
  /** The default model when absent. */
  readonly model?: string;
  readonly dimensions?: number;
  readonly prompt?: PromptChoice;
  readonly truncation?: TextTruncation;
  readonly longText?: LongTextChoice;
}

/**
 * A request that passed: its model, its inputs as the model is to read them
 * (its prompt before each text), and how a text too long for the model is
 * handled (the model's `long_text` when the request does not say).
 */
export interface PassedRequest {
  readonly model: ModelDescriptor;
  readonly inputs: readonly TextInput[];
  readonly truncation?: TextTruncation;
}

/**
 * The one check a request for embeddings passes before it becomes a task,
 * on every route and batch line alike: its inputs within the limits (the
 * caller's texts, before any prompt), an embedding model that exists (the
 * default model when it names none), output dimensions that model offers,
 * and a prompt it has. Each refusal is a `DomainError` naming what is wrong.
 */
export class RequestCheck {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly limits: InputLimits,
    /** Most tokens of a text embedded whole (`long_text: pool | chunks`), for a model that sets none. */
    private readonly maxTextTokens: number,
  ) {}

  async execute(request: CheckedRequest): Promise<PassedRequest> {
    checkInputs(request.inputs, this.limits);
    const modelId = request.model ?? this.catalog.defaultModelId;
    const model = await this.catalog.find(modelId);
    if (!model) throw new ModelNotFoundError(modelId);
    requireKind(model, 'embedding');
    if (request.dimensions !== undefined) checkOutputDimensions(model, request.dimensions);
    const prompt = promptFor(model, request.prompt);
    const chosen = withLongText(request.truncation, request.longText, model, this.maxTextTokens);
    // Windows say where they lie in the caller's text, which the prompt is not part of.
    const truncation = chosen?.windows && prompt ? { ...chosen, windows: { ...chosen.windows, promptLength: prompt.length } } : chosen;
    return { model, inputs: withPrompt(request.inputs, prompt), ...(truncation && { truncation }) };
  }
}
