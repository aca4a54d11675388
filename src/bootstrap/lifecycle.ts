import type { Logger } from '../ports/logger.js';

/** Something the service starts, and stops on shutdown in the reverse order. */
export interface Component {
  readonly name: string;
  /** Resolves once the component serves, or has begun to in the background (model loading). */
  start(): Promise<void>;
  /**
   * Lets work in progress finish, then closes. `deadline` aborts when the
   * grace period is over: from then on nothing waits for work in progress.
   */
  stop(deadline: AbortSignal): Promise<void>;
}

/** A component that is started by being built (an adapter connects in its constructor) and has only to close. */
export function closing(name: string, resource: { close(): Promise<void> }): Component {
  return { name, start: async () => undefined, stop: () => resource.close() };
}

/** True if `work` settled first, false if `deadline` aborted first (the work is left to finish or fail alone). */
export async function untilAborted(work: Promise<unknown>, deadline: AbortSignal): Promise<boolean> {
  if (deadline.aborted) return false;
  let onAbort!: () => void;
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    deadline.addEventListener('abort', onAbort, { once: true });
  });
  const settled = work.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, aborted]);
  } finally {
    deadline.removeEventListener('abort', onAbort);
  }
}

/**
 * Starts components in order, each built only when its turn comes (so an
 * adapter connects when started, not when the container loads), and stops
 * them in the reverse order: what serves clients stops taking work first,
 * and what everything else depends on closes last.
 */
export class Lifecycle {
  private readonly started: Component[] = [];

  constructor(private readonly logger: Logger) {}

  /** If a component fails to start, those already started are stopped and the error is thrown. */
  async start(components: ReadonlyArray<() => Component>): Promise<void> {
    for (const build of components) {
      try {
        const component = build();
        await component.start();
        this.started.push(component);
      } catch (error) {
        // Nothing has taken work yet: what started closes at once.
        await this.stopStarted(AbortSignal.abort());
        throw error;
      }
    }
  }

  /** Stops everything within `graceMs`; past it, components close with work still in progress. */
  async stop(graceMs: number): Promise<void> {
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      this.logger.warn('grace period over; closing with work in progress, which returns to the queue');
      deadline.abort();
    }, graceMs);
    try {
      await this.stopStarted(deadline.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async stopStarted(deadline: AbortSignal): Promise<void> {
    for (const component of this.started.splice(0).reverse()) {
      try {
        await component.stop(deadline);
      } catch (error) {
        this.logger.warn('a component failed to stop cleanly', { component: component.name, err: error });
      }
    }
  }
}
