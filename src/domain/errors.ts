import type { RateLimitKind, RateLimitStatus } from './rate-limits.js';

/**
 * Every failure a caller can cause or observe has a typed error with a stable
 * `code`. Codes are part of the public API (clients switch on them). The
 * `ErrorCode` union lists them all, so an adapter that maps codes to its own
 * vocabulary (HTTP statuses) with a `Record<ErrorCode, …>` is told by the
 * compiler when a code is added.
 */
export type ErrorCode =
  | 'invalid_api_key'
  | 'validation_failed'
  | 'malformed_request'
  | 'payload_too_large'
  | 'invalid_parameter'
  | 'empty_input'
  | 'model_not_found'
  | 'task_not_found'
  | 'file_not_found'
  | 'batch_not_found'
  | 'task_already_exists'
  | 'invalid_transition'
  | 'capacity_exceeded'
  | 'rate_limit_exceeded'
  | 'overloaded'
  | 'service_unavailable'
  | 'no_live_worker'
  | 'inference_failed'
  | 'timeout';

/** One offending field of a request: `path` is the JSON path, e.g. `input[3]`. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

export interface DomainErrorOptions {
  readonly cause?: unknown;
  readonly issues?: readonly FieldIssue[];
  readonly retryAfterSeconds?: number;
}

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  /** The request's fields at fault; empty when the error is not about a field. */
  readonly issues: readonly FieldIssue[];
  /** Set when the same request may succeed if retried after this many seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.issues = options.issues ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** An error about fields of the request, each named in `issues`. */
export abstract class FieldError extends DomainError {
  constructor(message: string, issues: readonly FieldIssue[] = []) {
    super(message, { issues });
  }
}

/** The request carries no API key, or one the service does not know. */
export class InvalidApiKeyError extends DomainError {
  readonly code = 'invalid_api_key';
}

/** The request is well-formed JSON but breaks the schema or a rule. */
export class ValidationError extends FieldError {
  readonly code = 'validation_failed';
}

/** The request body is not parseable (not JSON, or not the declared media type). */
export class MalformedRequestError extends DomainError {
  readonly code = 'malformed_request';
}

/** The request is larger than a configured limit (body bytes, input count, text length). */
export class PayloadTooLargeError extends FieldError {
  readonly code = 'payload_too_large';
}

/** A parameter the request may carry, with a value this model or service does not support. */
export class InvalidParameterError extends DomainError {
  readonly code = 'invalid_parameter';

  constructor(param: string, message: string) {
    super(message, { issues: [{ path: param, message }] });
  }
}

/** Nothing to work on: no inputs, or an empty one (TEI's `Empty`, a 400 there). */
export class EmptyInputError extends DomainError {
  readonly code = 'empty_input';

  constructor(param: string, message: string) {
    super(message, { issues: [{ path: param, message }] });
  }
}

export class ModelNotFoundError extends DomainError {
  readonly code = 'model_not_found';

  constructor(readonly modelId: string) {
    super(`Model '${modelId}' is not available; GET /v1/models lists the models served.`);
  }
}

export class TaskNotFoundError extends DomainError {
  readonly code = 'task_not_found';

  constructor(readonly taskId: string) {
    super(`Task '${taskId}' does not exist or has expired.`);
  }
}

export class FileNotFoundError extends DomainError {
  readonly code = 'file_not_found';

  constructor(readonly fileId: string) {
    super(`No such File object: ${fileId}`);
  }
}

export class BatchNotFoundError extends DomainError {
  readonly code = 'batch_not_found';

  constructor(readonly batchId: string) {
    super(`No batch found with id '${batchId}'.`);
  }
}

export class TaskAlreadyExistsError extends DomainError {
  readonly code = 'task_already_exists';

  constructor(readonly taskId: string) {
    super(`Task '${taskId}' already exists.`);
  }
}

/** A state change that the task's lifecycle forbids, e.g. succeeded → running. */
export class InvalidTransitionError extends DomainError {
  readonly code = 'invalid_transition';
}

/** A bounded queue or store is full; the caller may retry later. */
export class CapacityExceededError extends DomainError {
  readonly code = 'capacity_exceeded';

  constructor(message: string, retryAfterSeconds = 1) {
    super(message, { retryAfterSeconds });
  }
}

/** The caller used up its allowance for now; the same request succeeds once the window resets. */
export class RateLimitExceededError extends DomainError {
  readonly code = 'rate_limit_exceeded';

  constructor(
    readonly kind: RateLimitKind,
    message: string,
    retryAfterSeconds: number | undefined,
    /** The caller's allowances as they stand, for the answer's rate-limit headers. */
    readonly status: RateLimitStatus,
  ) {
    super(message, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
  }
}

/**
 * A model's queue is long enough that a new task would wait past the
 * configured bound: the caller is told to come back when it has drained,
 * rather than join a wait it would give up on.
 */
export class OverloadedError extends DomainError {
  readonly code = 'overloaded';

  constructor(
    readonly modelId: string,
    message: string,
    retryAfterSeconds: number,
  ) {
    super(message, { retryAfterSeconds });
  }
}

/** A dependency (broker, store, model) cannot serve right now; retrying later may succeed. */
export class ServiceUnavailableError extends DomainError {
  readonly code = 'service_unavailable';

  constructor(message: string, retryAfterSeconds = 1, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryAfterSeconds });
  }
}

/** No worker serves the model now, so a caller waiting for the result would wait for nothing. */
export class NoLiveWorkerError extends DomainError {
  readonly code = 'no_live_worker';

  constructor(
    readonly modelId: string,
    retryAfterSeconds: number,
  ) {
    super(`No live worker serves model '${modelId}' now; retry later, or queue a task (POST /v1/embeddings/tasks), which waits for one.`, {
      retryAfterSeconds,
    });
  }
}

/** A model could not embed the inputs it was given (the task fails, the worker goes on). */
export class InferenceError extends DomainError {
  readonly code = 'inference_failed';
}

/** A synchronous request whose task did not finish in time; the task itself goes on. */
export class TaskTimeoutError extends DomainError {
  readonly code = 'timeout';

  constructor(
    readonly taskId: string,
    seconds: number,
  ) {
    super(
      `The embeddings were not ready within ${seconds} s, and task ${taskId} was given up (expired). ` +
        'For work that may take longer, queue a task: POST /v1/embeddings/tasks.',
    );
  }
}
