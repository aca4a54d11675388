import { describe, expect, it } from 'vitest';
import { InvalidParameterError, promptFor, withPrompt } from '../../src/domain/index.js';

/* Which prompt a request gets from a model, by TEI's prompt_name or Cohere's input_type, and how it is applied. */

const e5 = { id: 'e5', prompts: { query: 'query: ', passage: 'passage: ' } };
const nomic = { id: 'nomic', prompts: { search_query: 'search_query: ', search_document: 'search_document: ' }, defaultPromptName: 'search_document' };
const plain = { id: 'plain' };

describe('promptFor', () => {
  it('gives the prompt of the name asked for, and refuses a name the model lacks, naming its prompts', () => {
    expect(promptFor(e5, { name: 'query' })).toBe('query: ');
    expect(() => promptFor(e5, { name: 'document' })).toThrow(InvalidParameterError);
    expect(() => promptFor(e5, { name: 'document' })).toThrow("Model 'e5' has no prompt 'document': its prompts are 'query', 'passage'.");
    expect(() => promptFor(plain, { name: 'query' })).toThrow("Model 'plain' has no prompt 'query': it has none.");
    expect(() => promptFor(e5, { name: 'constructor' })).toThrow(InvalidParameterError);
  });

  it.each([
    [e5, 'query', 'query: '],
    [e5, 'search_query', 'query: '],
    [e5, 'search_document', 'passage: '],
    [e5, 'document', 'passage: '],
    [e5, 'classification', undefined],
    [nomic, 'search_query', 'search_query: '],
    [nomic, 'query', 'search_query: '],
    [nomic, 'document', 'search_document: '],
    [nomic, 'clustering', 'search_document: '],
    [plain, 'search_query', undefined],
  ] as const)('maps input types to the model’s prompts (%#), never refusing one: the default prompt, or none, when it has no match', (model, inputType, expected) => {
    expect(promptFor(model, { inputType })).toBe(expected);
  });

  it('gives the default prompt, if any, to a request that asks for none', () => {
    expect(promptFor(nomic, undefined)).toBe('search_document: ');
    expect(promptFor(e5, undefined)).toBeUndefined();
  });
});

describe('withPrompt', () => {
  it('puts the prompt before each text and leaves token ids alone', () => {
    expect(withPrompt(['a', [1, 2], 'b'], 'query: ')).toEqual(['query: a', [1, 2], 'query: b']);
    const inputs = ['a'];
    expect(withPrompt(inputs, undefined)).toBe(inputs);
    expect(withPrompt(inputs, '')).toBe(inputs);
  });
});
