import { Worker } from 'node:worker_threads';

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
}

/**
 * The calling side of a worker thread that answers requests (the thread runs
 * `serveRequests` from thread-server.mjs). Each request carries an id and is
 * answered once, in any order. If the thread dies, pending requests reject
 * with the reason and later ones reject at once.
 */
export class ThreadClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(answer: unknown): void; reject(error: Error): void }>();
  private nextId = 0;
  private dead: Error | undefined;

  /** @param name says which thread died, in errors. */
  constructor(script: URL, name: string) {
    this.worker = new Worker(script);
    this.worker.on('message', (answer: Answer) => {
      const waiter = this.pending.get(answer.id);
      // An answer to no pending request cannot happen unless the thread is broken; nothing waits for it.
      if (!waiter) return;
      this.pending.delete(answer.id);
      if (answer.ok) waiter.resolve(answer);
      else waiter.reject(new Error(answer.error));
    });
    const die = (error: Error) => {
      this.dead ??= error;
      for (const waiter of this.pending.values()) waiter.reject(this.dead);
      this.pending.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`the ${name} thread exited (${code})`)));
  }

  /** Sends `message` (buffers in `transfer` move without a copy) and resolves with the thread's answer. */
  request<A>(message: Readonly<Record<string, unknown>>, transfer: readonly ArrayBuffer[] = []): Promise<A> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<A>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (answer: unknown) => void, reject });
      this.worker.postMessage({ ...message, id }, [...transfer]);
    });
  }

  /** Asks the thread to free what it holds (`{ type: 'close' }`), then ends it. */
  async close(): Promise<void> {
    if (!this.dead) await this.request({ type: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
