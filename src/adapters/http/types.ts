import type { MiddlewareHandler } from 'hono';
import type {
  Allowance,
  Batch,
  EmbeddingRequest,
  EmbeddingsAnswer,
  FilePurpose,
  FileRecord,
  InputLimits,
  ModelDescriptor,
  PairTruncation,
  Principal,
  PromptChoice,
  RateLimitStatus,
  ReadinessReport,
  Task,
  TaskStatus,
  TextToken,
} from '../../domain/index.js';
import type { ConsoleSnapshot, HistoryPoint } from '../../ports/console.js';
import type { DeadLetter, DeadLetterAction } from '../../ports/queue-inspector.js';
import type { KeyRing } from '../../ports/key-ring.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics, MetricsExposition } from '../../ports/metrics.js';
import type { Tracing } from '../../ports/tracing.js';
import type { StoreBudget } from '../../ports/store-budget.js';

export interface SyncEmbeddingRequest extends EmbeddingRequest {
  readonly dimensions?: number;
  /** false: the embedding cache neither answers nor keeps this request's vectors. */
  readonly cache?: false;
}


/** The use cases the HTTP adapter drives, typed by what it needs of them. */
export interface HttpUseCases {
  readonly submitEmbedding: {
    /** Takes the request's tokens from its caller's allowance; `tokens` is what is left. */
    execute(request: EmbeddingRequest & { readonly cache?: false }): Promise<{ task: Task; liveWorkers: number | undefined; tokens: Allowance | undefined }>;
  };
  readonly getTaskStatus: { execute(taskId: string, query?: { waitMs?: number; caller?: Principal }): Promise<Task> };
  /** Rejects with `TaskNotFoundError` for another key's task, `InvalidTransitionError` for a finished one. */
  readonly cancelTask: { execute(taskId: string, caller?: Principal): Promise<Task> };
  /** Rejects with `RateLimitExceededError` past the caller's allowance; a request's tokens are taken by the use case that runs it. */
  readonly rateLimits: { admitRequest(caller: Principal | undefined): Promise<RateLimitStatus> };
  readonly listModels: { execute(): Promise<readonly ModelDescriptor[]> };
  readonly getModel: { execute(modelId: string): Promise<ModelDescriptor> };
  readonly checkReadiness: { execute(): Promise<ReadinessReport> };
  readonly operatorConsole: {
    overview(): Promise<{ snapshot: ConsoleSnapshot; history: readonly HistoryPoint[] }>;
    subscribe(listener: (snapshot: ConsoleSnapshot, point: HistoryPoint) => void): () => void;
    tasks(query: { limit: number; status?: TaskStatus; model?: string }): Promise<Task[]>;
    deadLetters(model: string, limit: number): Promise<DeadLetter[]>;
    resolveDeadLetter(model: string, taskId: string, action: DeadLetterAction): Promise<void>;
  };
  readonly files: {
    upload(
      content: AsyncIterable<Uint8Array>,
      fields: Promise<{ filename: string; purpose: string | undefined; expiresAfterSeconds?: number }>,
      caller: Principal | undefined,
    ): Promise<FileRecord>;
    list(caller: Principal | undefined, query: { purpose?: FilePurpose; after?: string; limit: number; order?: 'asc' | 'desc' }): Promise<FileRecord[]>;
    get(id: string, caller: Principal | undefined): Promise<FileRecord>;
    content(id: string, caller: Principal | undefined): Promise<{ file: FileRecord; content: AsyncIterable<Uint8Array> }>;
    remove(id: string, caller: Principal | undefined): Promise<void>;
  };
  readonly batches: {
    create(
      request: { inputFileId: string; endpoint: string; completionWindow: string; metadata?: Readonly<Record<string, string>> },
      caller: Principal | undefined,
    ): Promise<Batch>;
    get(id: string, caller: Principal | undefined): Promise<Batch>;
    list(caller: Principal | undefined, query: { after?: string; limit: number }): Promise<Batch[]>;
    cancel(id: string, caller: Principal | undefined): Promise<Batch>;
  };
  /** Scores documents against a query with a reranker; `signal` aborts when the client goes away. */
  readonly rerank: {
    execute(
      request: {
        query: string;
        documents: readonly string[];
        model?: string;
        topN?: number;
        rawScores?: boolean;
        truncation?: PairTruncation;
        priority?: number;
        requestId?: string;
        caller?: Principal;
      },
      signal?: AbortSignal,
    ): Promise<{ task: Task; model: string; results: readonly { index: number; score: number }[]; promptTokens: number; tokens: Allowance | undefined }>;
  };
  /** A model's tokenizer, shown: texts into tokens (its prompt included), ids into text. */
  readonly modelTokens: {
    tokenize(request: { model?: string; inputs: readonly string[]; addSpecialTokens: boolean; prompt?: PromptChoice }): Promise<{
      texts: readonly { readonly text: string; readonly tokens: readonly TextToken[] }[];
    }>;
    decode(request: { model?: string; ids: readonly (readonly number[])[]; skipSpecialTokens: boolean }): Promise<{ texts: string[] }>;
  };
  readonly createEmbeddings: {
    /** `signal` aborts when the client goes away. */
    execute(
      request: SyncEmbeddingRequest,
      signal?: AbortSignal,
    ): Promise<EmbeddingsAnswer>;
  };
}

/** What TEI's /info reports besides the model: this service's limits, as its configuration sets them. */
export interface TeiSettings {
  readonly version: string;
  readonly maxConcurrentRequests: number;
  readonly maxBatchTokens: number;
  readonly maxBatchRequests: number;
  readonly maxClientBatchSize: number;
}

export interface HttpOptions {
  readonly bodyLimitBytes: number;
  readonly defaultModelId: string;
  /** Checked before the schema looks at each input, so an oversized list costs little to refuse. */
  readonly limits: InputLimits;
  /** Who may call /v1/*. */
  readonly keys: KeyRing;
  /** Browser origins allowed to call the API (`*` for any); empty: no CORS headers. */
  readonly corsOrigins: readonly string[];
  /** The console's basic-auth credentials; without them, it answers on loopback (or to an admin key) only. */
  readonly console: { readonly user?: string; readonly password?: string };
  /** This service's version, as /openapi.json and TEI's GET /info report it. */
  readonly version: string;
  /** What TEI's GET /info reports of this service's limits. */
  readonly tei: Omit<TeiSettings, 'version'>;
}

/** What every app has: logs, metrics, how it drains on shutdown, and how long a request may wait on its stores. */
export interface HttpObservers {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Served at GET /metrics when given. */
  readonly exposition?: MetricsExposition;
  /** When set, GET /metrics needs it as a bearer token. */
  readonly metricsToken?: string;
  /** Drains the app on shutdown (503 to new requests, in-flight ones finish). */
  readonly lifecycle?: { readonly middleware: MiddlewareHandler<HttpEnv>; readonly stopping?: AbortSignal };
  /**
   * Each request gets `ms` of store time in all, whatever number of commands
   * it makes, so that it answers within about `ms` of a stalled store.
   */
  readonly storeTime?: { readonly budget: StoreBudget; readonly ms: number };
  /** A server span per request, when traces are exported. */
  readonly tracing?: Tracing;
}

/** The error body a route group speaks: RFC 9457 problems, OpenAI's `{ error: {…} }`, Cohere's `{ message }`, or TEI's `{ error, error_type }`. */
export type ErrorDialect = 'problem' | 'openai' | 'cohere' | 'tei';

/**
 * Handlers set `taskId` and `model` so that the access log line carries them;
 * `errorDialect` is set for the route groups that answer errors in OpenAI's shape;
 * `closeConnection` when the answer should end a keep-alive connection (draining).
 */
export type HttpEnv = {
  Variables: {
    requestId: string;
    taskId?: string;
    model?: string;
    errorDialect?: ErrorDialect;
    closeConnection?: boolean;
    /** Who called, when the service has API keys. */
    principal?: Principal;
    /** The caller's allowances, for the answer's `x-ratelimit-*` headers. */
    rateLimits?: RateLimitStatus;
    /** The WWW-Authenticate challenge of a 401 here, when not the API's Bearer (the console asks for Basic). */
    challenge?: string;
  };
};
