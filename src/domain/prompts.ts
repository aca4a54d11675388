import { InvalidParameterError } from './errors.js';

/*
 * Prompts: the prefixes that models such as e5, bge and nomic expect before
 * a text ("query: ", "passage: "), which sentence-transformers keeps in
 * `config_sentence_transformers.json` and applies by name.
 */

/** A model's prompts, by name, and the one applied when a request names none. */
export interface ModelPrompts {
  readonly prompts?: Readonly<Record<string, string>>;
  readonly defaultPromptName?: string;
}

/**
 * Which prompt a request asks for: by name (TEI's `prompt_name`), or by what
 * its texts are for (Cohere's and Voyage's `input_type`).
 */
export type PromptChoice = { readonly name: string } | { readonly inputType: string };

/**
 * The prompt names an `input_type` stands for, in the order they are tried:
 * the names sentence-transformers models use for the same purpose. Any other
 * input type is tried as a name itself.
 */
const INPUT_TYPE_NAMES: Readonly<Record<string, readonly string[]>> = {
  search_query: ['query', 'search_query'],
  query: ['query', 'search_query'],
  search_document: ['document', 'passage', 'search_document', 'doc'],
  document: ['document', 'passage', 'search_document', 'doc'],
  passage: ['passage', 'document', 'search_document', 'doc'],
};

/**
 * The prompt a request gets from a model. A name the model lacks is refused
 * (`InvalidParameterError` naming its prompts), as TEI refuses it; an input
 * type is never refused: one the model has no prompt for gets the default
 * prompt, or none (Cohere's clients always send an input type, whatever the
 * model). No choice gets the default prompt, as sentence-transformers
 * applies it.
 */
export function promptFor(model: ModelPrompts & { readonly id: string }, choice: PromptChoice | undefined): string | undefined {
  const prompts = model.prompts ?? {};
  const fallback = model.defaultPromptName === undefined ? undefined : prompts[model.defaultPromptName];
  if (choice === undefined) return fallback;
  if ('name' in choice) {
    if (Object.hasOwn(prompts, choice.name)) return prompts[choice.name];
    const names = Object.keys(prompts);
    const has = names.length === 0 ? 'it has none' : `its prompts are ${names.map((n) => `'${n}'`).join(', ')}`;
    throw new InvalidParameterError('prompt_name', `Model '${model.id}' has no prompt '${choice.name}': ${has}.`);
  }
  const name = (INPUT_TYPE_NAMES[choice.inputType] ?? [choice.inputType]).find((n) => Object.hasOwn(prompts, n));
  return name === undefined ? fallback : prompts[name];
}

/** The inputs with the prompt before each text; token ids are the model's own and are left as they are. */
export function withPrompt<Input extends string | readonly number[]>(inputs: readonly Input[], prompt: string | undefined): readonly (Input | string)[] {
  if (!prompt) return inputs;
  return inputs.map((input) => (typeof input === 'string' ? prompt + input : input));
}
