import { PayloadTooLargeError, ValidationError, type FieldIssue } from './errors.js';
import type { TextInput } from './task.js';

export interface InputLimits {
  /** Most texts in one request. */
  readonly maxInputs: number;
  /** Most characters (UTF-16 code units) in one text, and most token ids in one token input. */
  readonly maxInputChars: number;
}

/**
 * Checks the rules every entry point shares, whatever its wire format: at least
 * one input, no empty text, no more inputs or characters than the limits.
 * Size breaches are `PayloadTooLargeError` (413); the rest `ValidationError` (422).
 */
export function checkInputs(inputs: readonly TextInput[], limits: InputLimits): void {
  if (inputs.length === 0) {
    throw new ValidationError('input must hold at least one text.', [
      { path: 'input', message: 'must not be empty' },
    ]);
  }
  if (inputs.length > limits.maxInputs) {
    throw new PayloadTooLargeError(`input holds ${inputs.length} texts; the limit is ${limits.maxInputs}.`, [
      { path: 'input', message: `at most ${limits.maxInputs} texts` },
    ]);
  }
  const empty: FieldIssue[] = [];
  const long: FieldIssue[] = [];
  inputs.forEach((text, i) => {
    const path = inputPath(i, inputs.length);
    if (text.length === 0) empty.push({ path, message: 'must not be empty' });
    else if (text.length > limits.maxInputChars) {
      long.push({ path, message: `${text.length} characters; the limit is ${limits.maxInputChars}` });
    }
  });
  if (empty.length > 0) throw new ValidationError('input holds an empty text.', empty);
  if (long.length > 0) {
    throw new PayloadTooLargeError(`A text is longer than ${limits.maxInputChars} characters.`, long);
  }
}

/** What every model refuses: nothing to embed, or an empty text or token list. */
export function requireEmbeddable(inputs: readonly TextInput[]): void {
  if (inputs.length === 0) throw new ValidationError('No texts to embed.');
  if (inputs.some((input) => input.length === 0)) throw new ValidationError('Cannot embed an empty input.');
}

/** The JSON path of one input as the client sent it: `input` when it sent one, else `input[i]`. */
export function inputPath(index: number, count: number): string {
  return count === 1 ? 'input' : `input[${index}]`;
}
