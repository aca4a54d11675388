import { readFile } from 'node:fs/promises';

/**
 * Asks `/health/live` every few milliseconds, and anything else `alongside`
 * wants to sample (memory, say), until stopped; `stop()` resolves with the
 * slowest answer, in ms. A liveness answer other than 200 fails the probe.
 */
export function probeLiveness(base: string, alongside: () => Promise<void> = async () => undefined): { stop(): Promise<number> } {
  let slowest = 0;
  let running = true;
  const probing = (async () => {
    while (running) {
      const started = performance.now();
      const status = (await fetch(`${base}/health/live`)).status;
      if (status !== 200) throw new Error(`/health/live answered ${status}`);
      slowest = Math.max(slowest, performance.now() - started);
      await alongside();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await probing;
      return slowest;
    },
  };
}

/** The resident memory of a process now, in MB (Linux). */
export async function rssMb(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}
