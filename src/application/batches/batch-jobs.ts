import {
  BatchNotFoundError,
  BATCH_ENDPOINTS,
  BATCH_WINDOW,
  cancelBatch,
  FileNotFoundError,
  InvalidParameterError,
  isBatchEndpoint,
  visibleTo,
  newBatch,
  type Batch,
  type Principal,
  prefixedId,
} from '../../domain/index.js';
import type { BatchStore } from '../../ports/batch-store.js';
import type { BatchEvents } from '../../ports/batch-events.js';
import type { Clock } from '../../ports/clock.js';
import type { FileStore } from '../../ports/file-store.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { Tracing } from '../../ports/tracing.js';

export interface NewBatchRequest {
  readonly inputFileId: string;
  readonly endpoint: string;
  readonly completionWindow: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * OpenAI's Batch API: create, read, list and cancel batches. A batch belongs
 * to the key that created it (an admin key sees every batch); running it is
 * the `BatchRunner`'s, which `started` wakes.
 */
export class BatchJobs {
  constructor(
    private readonly batches: BatchStore,
    private readonly files: FileStore,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    /** Judges a batch's webhook URL when the batch is created. */
    private readonly webhooks: Pick<BatchEvents, 'refusal'>,
    private readonly started: () => void,
    /** Where the batch's run finds the trace of the request that created it. */
    private readonly tracing?: Tracing,
  ) {}

  async create(request: NewBatchRequest, caller: Principal | undefined): Promise<Batch> {
    const { endpoint } = request;
    if (!isBatchEndpoint(endpoint)) {
      throw new InvalidParameterError('endpoint', `endpoint must be one of ${BATCH_ENDPOINTS.map((e) => `'${e}'`).join(', ')}: the endpoints this service runs batches for.`);
    }
    if (request.completionWindow !== BATCH_WINDOW) {
      throw new InvalidParameterError('completion_window', `completion_window must be '${BATCH_WINDOW}'.`);
    }
    const webhook = request.metadata?.webhook_url;
    const refused = webhook === undefined ? undefined : this.webhooks.refusal(webhook);
    if (refused) throw new InvalidParameterError('metadata.webhook_url', `metadata.webhook_url is refused: ${refused}.`);
    const file = visibleTo(caller, await this.files.get(request.inputFileId), () => new FileNotFoundError(request.inputFileId));
    if (file.purpose !== 'batch') {
      throw new InvalidParameterError('input_file_id', `File ${file.id} has purpose '${file.purpose}'; a batch reads files uploaded with purpose 'batch'.`);
    }
    const batch = newBatch({
      id: prefixedId('batch', this.ids.next()),
      endpoint,
      inputFileId: file.id,
      now: this.clock.now(),
      ...(request.metadata !== undefined && { metadata: request.metadata }),
      ...(caller && { owner: caller.name }),
      ...(this.tracing && { trace: this.tracing.inject() }),
    });
    await this.batches.create(batch);
    this.started();
    return batch;
  }

  async get(id: string, caller: Principal | undefined): Promise<Batch> {
    return visibleTo(caller, await this.batches.get(id), () => new BatchNotFoundError(id));
  }

  /** Newest first; `after` is the last id of the previous page. */
  async list(caller: Principal | undefined, query: { after?: string; limit: number }): Promise<Batch[]> {
    const owner = caller && !caller.admin ? caller.name : undefined;
    return this.batches.list({ ...query, ...(owner !== undefined && { owner }) });
  }

  /** Stops dispatching its lines; what runs finishes, and the batch ends `cancelled` with its partial output. */
  async cancel(id: string, caller: Principal | undefined): Promise<Batch> {
    await this.get(id, caller);
    const cancelled = await this.batches.update(id, (b) => cancelBatch(b, this.clock.now()));
    if (!cancelled) throw new BatchNotFoundError(id);
    this.started();
    return cancelled;
  }
}
