import type { EmbeddingResult, TaskFailure, TaskMessage } from '../domain/index.js';

/** What a worker answers a call with: the result and when it ran, or why it failed. */
export type CallAnswer =
  | { readonly ok: true; readonly result: EmbeddingResult; readonly startedAt: Date; readonly finishedAt: Date }
  | { readonly ok: false; readonly failure: TaskFailure };

/**
 * Sends a task's message to its model's queue and waits for a worker's
 * answer, which comes straight back to this process: the synchronous
 * routes' path, which keeps no task record (a request that waits for its
 * answer needs none to be read later).
 *
 * Guarantees:
 * - It rejects as `TaskPublisher.publish` does (`CapacityExceededError` for
 *   a full queue, `ServiceUnavailableError` when the queue cannot be
 *   reached) when the message was not accepted.
 * - Once accepted, the message is delivered at least once: a worker that
 *   dies holding it leaves it to another, and the first answer to arrive
 *   wins (later ones, of a redelivered copy, are dropped). A message whose
 *   `deadline` passes while it waits is not run.
 * - A call still waiting when its connection to the queue is re-established
 *   is sent again, so that neither a dropped connection nor a restarted
 *   broker leaves it waiting for an answer that cannot come.
 * - When `signal` aborts, it rejects with the signal's reason at once; a
 *   worker may still run the message, and its answer is dropped.
 */
export interface TaskCaller {
  call(message: TaskMessage, signal: AbortSignal): Promise<CallAnswer>;
}

/** The worker's side of a call: how it answers one delivered message. */
export interface CallReply {
  /** Sends `answer` to the caller. Best-effort: a caller gone away is not an error. Settle the delivery after. */
  answer(answer: CallAnswer): Promise<void>;
  /**
   * Queues the message again with `attempts` one higher, then acknowledges
   * this delivery: how a call's attempts are counted, having no record.
   * The copy is accepted before the original goes, so a failure between the
   * two leaves a duplicate (answered once), never nothing.
   */
  retry(): Promise<void>;
}
