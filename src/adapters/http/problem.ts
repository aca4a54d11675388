import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  CapacityExceededError,
  DomainError,
  InferenceError,
  InvalidParameterError,
  MalformedRequestError,
  ModelNotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TaskNotFoundError,
  TaskTimeoutError,
  ValidationError,
  type FieldIssue,
} from '../../domain/index.js';
import type { Logger } from '../../ports/logger.js';

/** An RFC 9457 problem document, with this service's stable `code`. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly instance?: string;
  readonly errors?: readonly FieldIssue[];
}

const STATUS_BY_ERROR: ReadonlyArray<[abstract new (...args: never[]) => DomainError, ContentfulStatusCode]> = [
  [MalformedRequestError, 400],
  [InvalidParameterError, 400],
  [TaskNotFoundError, 404],
  [ModelNotFoundError, 404],
  [PayloadTooLargeError, 413],
  [ValidationError, 422],
  [InferenceError, 500],
  [CapacityExceededError, 503],
  [ServiceUnavailableError, 503],
  [TaskTimeoutError, 504],
];

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const HTTP_EXCEPTION_CODES: Readonly<Record<number, string>> = {
  400: 'malformed_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

function problemType(code: string): string {
  return `urn:embedding-service:problem:${code}`;
}

/** Turns any thrown value into a problem document and its status. */
function toProblem(error: unknown, instance: string): { problem: Problem; retryAfter?: number } {
  if (error instanceof DomainError) {
    const status = STATUS_BY_ERROR.find(([type]) => error instanceof type)?.[1] ?? 422;
    const issues =
      error instanceof ValidationError || error instanceof PayloadTooLargeError
        ? error.issues
        : error instanceof InvalidParameterError
          ? [{ path: error.param, message: error.message }]
          : [];
    const retryAfter =
      error instanceof CapacityExceededError || error instanceof ServiceUnavailableError
        ? error.retryAfterSeconds
        : undefined;
    return {
      problem: build(status, error.code, error.message, instance, issues),
      ...(retryAfter !== undefined && { retryAfter }),
    };
  }
  if (error instanceof HTTPException && error.status < 500) {
    const code = HTTP_EXCEPTION_CODES[error.status] ?? 'bad_request';
    return { problem: build(error.status, code, error.message || TITLES[error.status] || 'Bad request', instance, []) };
  }
  return { problem: build(500, 'internal_error', 'The server failed to handle the request.', instance, []) };
}

function build(status: number, code: string, detail: string, instance: string, issues: readonly FieldIssue[]): Problem {
  return {
    type: problemType(code),
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    instance,
    ...(issues.length > 0 && { errors: issues }),
  };
}

/**
 * The routes OpenAI's clients call answer errors in OpenAI's shape,
 * `{ error: { message, type, param, code } }`, with the same statuses.
 */
function isOpenAiRoute(path: string): boolean {
  return path === '/v1/embeddings' || path === '/v1/models' || path.startsWith('/v1/models/');
}

function openAiBody(problem: Problem): string {
  const details = problem.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
  return JSON.stringify({
    error: {
      message: details ? `${problem.detail} (${details})` : problem.detail,
      type: problem.status >= 500 ? 'server_error' : 'invalid_request_error',
      param: problem.errors?.[0]?.path ?? null,
      code: problem.code,
    },
  });
}

export function problemResponse(c: Context, error: unknown, logger: Logger): Response {
  const { problem, retryAfter } = toProblem(error, c.req.path);
  if (problem.status >= 500 && !(error instanceof DomainError)) {
    // The message may hold internals; it goes to the log, never to the client.
    logger.error('unhandled error', { err: error, path: c.req.path, requestId: c.get('requestId') });
  }
  const openAi = isOpenAiRoute(c.req.path);
  const headers: Record<string, string> = { 'content-type': openAi ? 'application/json' : 'application/problem+json' };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return new Response(openAi ? openAiBody(problem) : JSON.stringify(problem), { status: problem.status, headers });
}
