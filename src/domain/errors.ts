/**
 * Every failure a caller can cause or observe has a typed error with a stable
 * `code`. Codes are part of the public API (clients switch on them); the HTTP
 * adapter maps each class to a status in one place.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One offending field of a request: `path` is the JSON path, e.g. `input[3]`. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** The request is well-formed JSON but breaks the schema or a rule. */
export class ValidationError extends DomainError {
  readonly code = 'validation_failed';

  constructor(
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super(message);
  }
}

/** The request body is not parseable (not JSON, or not the declared media type). */
export class MalformedRequestError extends DomainError {
  readonly code = 'malformed_request';
}

/** The request is larger than a configured limit (body bytes, input count, text length). */
export class PayloadTooLargeError extends DomainError {
  readonly code = 'payload_too_large';

  constructor(
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super(message);
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

export class TaskAlreadyExistsError extends DomainError {
  readonly code = 'task_already_exists';

  constructor(readonly taskId: string) {
    super(`Task '${taskId}' already exists.`);
  }
}

/** A bounded queue or store is full; the caller may retry later. */
export class CapacityExceededError extends DomainError {
  readonly code = 'capacity_exceeded';

  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** A dependency (broker, store, model) cannot serve right now; retrying later may succeed. */
export class ServiceUnavailableError extends DomainError {
  readonly code = 'service_unavailable';

  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A model could not embed the inputs it was given (the task fails, the worker goes on). */
export class InferenceError extends DomainError {
  readonly code = 'inference_failed';
}

/** A state change that the task's lifecycle forbids, e.g. succeeded → running. */
export class InvalidTransitionError extends DomainError {
  readonly code = 'invalid_transition';
}

/** A parameter the request may carry, with a value this model or service does not support (400). */
export class InvalidParameterError extends DomainError {
  readonly code = 'invalid_parameter';

  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

/** A synchronous request whose task did not finish in time; the task itself goes on. */
export class TaskTimeoutError extends DomainError {
  readonly code = 'timeout';

  constructor(
    readonly taskId: string,
    seconds: number,
  ) {
    super(`The embeddings were not ready within ${seconds} s. The task goes on: GET /v1/embeddings/tasks/${taskId}.`);
  }
}
