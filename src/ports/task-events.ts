/** A watch on one task, until it is cancelled. */
export interface TaskWatch {
  /** Resolves once announcements reach this watch; those made before may be missed. Never rejects. */
  readonly ready: Promise<void>;
  /** Resolves when the task is announced as finished. Never rejects. */
  readonly finished: Promise<void>;
  cancel(): void;
}

/**
 * Announces finished tasks to the processes that wait on them (the API, for a
 * client that asked to wait), so that nobody polls the store in a loop.
 *
 * Announcements are best-effort and not stored: a watch sees only what is
 * announced after it is `ready`. A waiter therefore starts its watch, waits
 * for it to be ready, then reads the store, and reads it again after the
 * announcement or its own timeout.
 */
export interface TaskEvents {
  announceFinished(taskId: string): Promise<void>;
  watch(taskId: string): TaskWatch;
  close(): Promise<void>;
}
