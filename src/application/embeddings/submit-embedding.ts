import { toResult, type EmbeddingRequest, type EmbeddingResult, type ModelDescriptor, type TextInput } from '../../domain/index.js';
import type { Submission, SubmitTask } from '../tasks/submit-task.js';
import type { RequestCheck } from './request-check.js';
import type { VectorCache, VectorOptions } from './vector-cache.js';

/**
 * The task route's `POST /v1/embeddings/tasks`: the request checked as every
 * embeddings request is (its prompt put before each text), then submitted as
 * a task (`SubmitTask`) that the caller follows by its id. A request whose
 * every text the embedding cache holds becomes a task that has already
 * succeeded, without the queue. One with only some of them is queued whole:
 * a task's result is one record its worker writes.
 */
export class SubmitEmbedding {
  constructor(
    private readonly check: RequestCheck,
    private readonly tasks: SubmitTask,
    private readonly cache?: VectorCache,
  ) {}

  /** `taskId`: the id the task gets, when the caller chose it beforehand (a fresh one from the same generator); else a new one. */
  async execute(command: EmbeddingRequest & { readonly cache?: false }, options: { taskId?: string } = {}): Promise<Submission> {
    const { model, ...checked } = await this.check.execute(command);
    const passed = { ...command, ...checked };
    const cached = command.cache === false ? undefined : await this.cachedWhole(model, passed);
    return cached ? this.tasks.settle(passed, model.id, cached, options) : this.tasks.submit(passed, model.id, options);
  }

  /** The result the cache holds for every input, or undefined when it lacks any. */
  private async cachedWhole(
    model: ModelDescriptor,
    request: VectorOptions & { readonly inputs: readonly TextInput[] },
  ): Promise<EmbeddingResult | undefined> {
    const scope = this.cache && (await this.cache.scope(model, request));
    if (!scope) return undefined;
    const found = await this.cache!.lookup(scope, request.inputs);
    if (!found.every((entry) => entry !== undefined)) return undefined;
    const entries = found.map((entry) => entry!);
    return toResult({
      vectors: entries.map((entry) => entry.vector),
      tokenCounts: entries.map((entry) => entry.tokens),
      droppedTokens: entries.map((entry) => entry.droppedTokens),
    });
  }
}
