import {
  checkInputs,
  DomainError,
  PayloadTooLargeError,
  toResult,
  ValidationError,
  type EmbeddingResult,
  type Embeddings,
  type InputLimits,
  type TaskFailure,
  type TaskMessage,
} from '../../domain/index.js';

/** Runs one message's work on its model: one row of output per input (through the model's batcher), with the tokens each used. */
export type RunTask = (message: TaskMessage) => Promise<Embeddings>;

export type AttemptOutcome = { readonly ok: true; readonly result: EmbeddingResult } | { readonly ok: false; readonly failure: TaskFailure };

/** One attempt at a message's work; what it failed of is told apart by kind (a wrong input, too large, or the model's own failure). */
export async function attempt(run: RunTask, message: TaskMessage): Promise<AttemptOutcome> {
  try {
    return { ok: true, result: toResult(await run(message)) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const failure: TaskFailure =
      error instanceof ValidationError || error instanceof PayloadTooLargeError
        ? { reason, kind: error instanceof ValidationError ? 'invalid_input' : 'too_large', issues: error.issues }
        : { reason, kind: 'inference_failed' };
    return { ok: false, failure };
  }
}

/** Whether another attempt could succeed: an input that is wrong or too large fails the same way every time. */
export function worthRetrying(failure: TaskFailure): boolean {
  return failure.kind !== 'invalid_input' && failure.kind !== 'too_large';
}

/** What is wrong with a message's inputs by the limits, if anything: a message is not trusted to respect them. */
export function breachOf(message: TaskMessage, limits: InputLimits): DomainError | undefined {
  try {
    checkInputs(message.inputs, limits);
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

export function seconds(from: Date, to: Date): number {
  return Math.max(0, (to.getTime() - from.getTime()) / 1000);
}
