import { ServiceUnavailableError } from '../../domain/index.js';

const FIRST_PAUSE_MS = 100;
const LONGEST_PAUSE_MS = 2_000;

/**
 * Runs a worker's store command until the store answers, pausing longer
 * between tries (up to 2 s, with jitter so that workers do not retry in
 * step), for as long as the worker runs; once `stopping` is aborted, the
 * last failure is thrown (the delivery is requeued).
 *
 * Why not fail the delivery at once and let the queue redeliver it: a
 * command that timed out may still be carried out when the store answers
 * again, and a redelivery starts the task again at a new time, so each turn
 * of that loop during a long stall would land late as one more attempt,
 * until the task ran out of attempts through no fault of its own. Repeated
 * with the same arguments, the store's transitions are idempotent: a stall
 * of any length costs one attempt. Holding the delivery meanwhile also
 * holds back the next ones (the prefetch is full), instead of spinning.
 *
 * Only an unavailable store is waited for; any other failure is thrown.
 */
export async function untilAnswered<T>(command: () => Promise<T>, stopping: AbortSignal, onFirstFailure: (error: ServiceUnavailableError) => void): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await command();
    } catch (error) {
      if (!(error instanceof ServiceUnavailableError) || stopping.aborted) throw error;
      if (tries === 0) onFirstFailure(error);
      const longest = Math.min(FIRST_PAUSE_MS * 2 ** tries, LONGEST_PAUSE_MS);
      await pause(longest / 2 + (Math.random() * longest) / 2, stopping);
    }
  }
}

/**
 * Per signal, the pauses waiting on it, woken by one abort listener: a
 * stall holds every delivery of the prefetch in a pause at once, far more
 * than the ten listeners a signal takes before Node warns of a leak.
 */
const pausesOf = new WeakMap<AbortSignal, Set<() => void>>();

function pause(ms: number, stopping: AbortSignal): Promise<void> {
  let pauses = pausesOf.get(stopping);
  if (!pauses) {
    const created = new Set<() => void>();
    stopping.addEventListener('abort', () => created.forEach((wake) => wake()), { once: true });
    pausesOf.set(stopping, created);
    pauses = created;
  }
  const waiting = pauses;
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    waiting.add(done);
    function done() {
      clearTimeout(timer);
      waiting.delete(done);
      resolve();
    }
  });
}
