import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError, RateLimitExceededError, type ErrorCode, type FieldIssue } from '../../domain/index.js';
import type { Logger } from '../../ports/logger.js';
import type { ErrorDialect, HttpEnv } from './types.js';

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

/** OpenAI's error types; a rate limit's is the kind of limit reached (`requests` or `tokens`), as on OpenAI's API. */
type OpenAiErrorType = 'invalid_request_error' | 'server_error' | 'requests' | 'tokens';

/**
 * The status each domain error is answered with; the compiler demands a row
 * for every code. OpenAI's error `type` follows from the status, as on
 * OpenAI's own API: `invalid_request_error` for the client's errors,
 * `server_error` for the rest (an overloaded model included).
 */
const STATUS_OF: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  invalid_api_key: 401,
  malformed_request: 400,
  invalid_parameter: 400,
  empty_input: 400,
  model_not_found: 404,
  task_not_found: 404,
  file_not_found: 404,
  batch_not_found: 404,
  task_already_exists: 409,
  invalid_transition: 409,
  payload_too_large: 413,
  validation_failed: 422,
  inference_failed: 500,
  rate_limit_exceeded: 429,
  overloaded: 429,
  capacity_exceeded: 503,
  service_unavailable: 503,
  no_live_worker: 503,
  timeout: 504,
};

function openAiTypeOf(status: number, error?: DomainError): OpenAiErrorType {
  if (error instanceof RateLimitExceededError) return error.kind;
  return status >= 500 || error?.code === 'overloaded' ? 'server_error' : 'invalid_request_error';
}

/** Codes for what Hono itself rejects before any handler runs (no route, wrong method, unreadable body). */
const HTTP_EXCEPTION_CODES: Readonly<Record<number, string>> = {
  400: 'malformed_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  429: 'Too Many Requests',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

interface Answer {
  readonly problem: Problem;
  readonly openAiType: OpenAiErrorType;
  readonly retryAfter?: number;
}

/** Turns any thrown value into what the client is told. */
function toAnswer(error: unknown, instance: string): Answer {
  if (error instanceof DomainError) {
    const status = STATUS_OF[error.code];
    return {
      problem: build(status, error.code, error.message, instance, error.issues),
      openAiType: openAiTypeOf(status, error),
      ...(error.retryAfterSeconds !== undefined && { retryAfter: error.retryAfterSeconds }),
    };
  }
  if (error instanceof HTTPException && error.status < 500) {
    const code = HTTP_EXCEPTION_CODES[error.status] ?? 'bad_request';
    const detail = error.message || TITLES[error.status] || 'Bad request';
    return { problem: build(error.status, code, detail, instance, []), openAiType: openAiTypeOf(error.status) };
  }
  return {
    problem: build(500, 'internal_error', 'The server failed to handle the request.', instance, []),
    openAiType: 'server_error',
  };
}

function build(status: number, code: string, detail: string, instance: string, issues: readonly FieldIssue[]): Problem {
  return {
    type: `urn:embedding-service:problem:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    instance,
    ...(issues.length > 0 && { errors: issues }),
  };
}

/** The detail, with the fields at fault, for the bodies that have one message. */
function messageOf(problem: Problem): string {
  const details = problem.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
  return details ? `${problem.detail} (${details})` : problem.detail;
}

function openAiBody({ problem, openAiType }: Answer) {
  return {
    error: {
      message: messageOf(problem),
      type: openAiType,
      param: problem.errors?.[0]?.path ?? null,
      code: problem.code,
    },
  };
}

/** Cohere's error body, its message, with this service's code beside it for programs. */
function cohereBody({ problem }: Answer) {
  return { message: messageOf(problem), code: problem.code };
}

/** TEI's `error_type` for what this service answers with `status` and `code`. */
function teiErrorType({ status, code }: Problem): string {
  if (code === 'empty_input') return 'Empty';
  if (status === 429) return 'Overloaded';
  if (status === 503) return 'Unhealthy';
  return status < 500 ? 'Validation' : 'Backend';
}

/** TEI's error body: the message and its kind, as text-embeddings-inference names them, with this service's code. */
function teiBody({ problem }: Answer) {
  const errorType = teiErrorType(problem);
  return { error: messageOf(problem), error_type: errorType, code: problem.code };
}

function bodyIn(dialect: ErrorDialect | undefined, answer: Answer): unknown {
  switch (dialect) {
    case 'openai':
      return openAiBody(answer);
    case 'cohere':
      return cohereBody(answer);
    case 'tei':
      return teiBody(answer);
    default:
      return answer.problem;
  }
}

/** The status and body an OpenAI route answers `error` with (a batch's error lines carry both). */
export function openAiError(error: unknown, path: string) {
  const answer = toAnswer(error, path);
  return { status: answer.problem.status, body: openAiBody(answer) };
}

/**
 * nginx's status for a request whose client went away before the answer
 * (an aborted upload, a closed tab): counted apart from the server's own
 * failures, so that clients cannot set off 5xx alerts. Nobody reads the body.
 */
const CLIENT_CLOSED_REQUEST = 499;

/** The one error path of every app: a problem document, or OpenAI's shape where the route group speaks it. */
export function errorResponse(c: Context<HttpEnv>, error: unknown, logger: Logger): Response {
  if (c.req.raw.signal.aborted) {
    logger.info('client closed the request', { path: c.req.path, requestId: c.get('requestId'), reason: String(c.req.raw.signal.reason) });
    return new Response(null, { status: CLIENT_CLOSED_REQUEST });
  }
  const answer = toAnswer(error, c.req.path);
  if (answer.problem.status >= 500 && !(error instanceof DomainError)) {
    // The message may hold internals; it goes to the log, never to the client.
    logger.error('unhandled error', { err: error, path: c.req.path, requestId: c.get('requestId') });
  }
  const dialect = c.get('errorDialect');
  const headers: Record<string, string> = { 'content-type': dialect && dialect !== 'problem' ? 'application/json' : 'application/problem+json' };
  if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
  if (c.get('closeConnection')) headers.connection = 'close';
  // RFC 6750: a refused bearer token is answered with the scheme to use.
  if (answer.problem.status === 401) headers['www-authenticate'] = c.get('challenge') ?? 'Bearer';
  return new Response(JSON.stringify(bodyIn(dialect, answer)), { status: answer.problem.status, headers });
}
