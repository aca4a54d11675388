import type { z } from 'zod';
import { ValidationError } from '../../domain/index.js';

/** A zod issue, as far as the answer needs it. */
interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** The 422 for input that breaks a schema, naming each field at fault as its JSON path (`input[3]`). */
export function schemaError(issues: readonly Issue[], message = 'The request does not match the schema.', whole = '(body)'): ValidationError {
  return new ValidationError(
    message,
    issues.map((issue) => ({ path: jsonPath(issue.path) || whole, message: issue.message })),
  );
}

/** `value` as `schema` reads it, or the 422 that says why not. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, message?: string, whole?: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw schemaError(result.error.issues, message, whole);
  return result.data;
}

function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
}
