import { PayloadTooLargeError, ValidationError, type FieldError, type FieldIssue } from './errors.js';
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

/**
 * An error about some of a request's inputs that were sent on their own
 * (those an embedding cache did not hold), its issues naming each input by
 * its place in the whole request: `places[j]` is where the j-th sent input
 * was, of `count`. Any other error is returned as it is.
 */
export function renumberInputs(error: unknown, places: readonly number[], count: number): unknown {
  if (!(error instanceof ValidationError || error instanceof PayloadTooLargeError)) return error;
  const issues = error.issues.map((issue) => {
    const match = /^input(?:\[(\d+)\])?/.exec(issue.path);
    const place = match ? places[Number(match[1] ?? 0)] : undefined;
    return place === undefined ? issue : { ...issue, path: inputPath(place, count) + issue.path.slice(match![0].length) };
  });
  const Kind = error.constructor as new (message: string, issues: readonly FieldIssue[]) => FieldError;
  return new Kind(error.message, issues);
}
