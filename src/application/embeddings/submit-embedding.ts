import type { EmbeddingRequest } from '../../domain/index.js';
import type { Submission, SubmitTask } from '../tasks/submit-task.js';
import type { RequestCheck } from './request-check.js';

/**
 * The task route's `POST /v1/embeddings/tasks`: the request checked as every
 * embeddings request is (its prompt put before each text), then submitted as
 * a task (`SubmitTask`) that the caller follows by its id.
 */
export class SubmitEmbedding {
  constructor(
    private readonly check: RequestCheck,
    private readonly tasks: SubmitTask,
  ) {}

  /** `taskId`: the id the task gets, when the caller chose it beforehand (a fresh one from the same generator); else a new one. */
  async execute(command: EmbeddingRequest, options: { taskId?: string } = {}): Promise<Submission> {
    const { model, ...checked } = await this.check.execute(command);
    return this.tasks.submit({ ...command, ...checked }, model.id, options);
  }
}
