import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryWorkerRegistry } from '../../src/adapters/memory/memory-worker-registry.js';
import { LiveWorkers } from '../../src/application/models/live-workers.js';
import type { WorkerRegistry } from '../../src/ports/worker-registry.js';

/** A registry in front of one in memory that can be made to fail, as Redis does while it stalls. */
function faultyRegistry() {
  const inner = new MemoryWorkerRegistry();
  let away = false;
  const registry: WorkerRegistry = {
    heartbeat: (beat, ttl) => inner.heartbeat(beat, ttl),
    live: () => (away ? Promise.reject(new Error('Redis is unavailable')) : inner.live()),
    remove: (id) => inner.remove(id),
    close: () => inner.close(),
  };
  return {
    registry,
    inner,
    setAway: (value: boolean) => void (away = value),
  };
}

const beat = (workerId: string, models: string[]) => ({ workerId, host: 'h', models, startedAt: new Date() });

describe('LiveWorkers', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('counts the live workers of each model, and knows nothing (undefined) while the registry cannot be read', async () => {
    const { registry, inner, setAway } = faultyRegistry();
    const live = new LiveWorkers(registry, { maxAgeMs: 0, recoveryMs: 0 });
    await inner.heartbeat(beat('w1', ['a', 'b']), 3);
    await inner.heartbeat(beat('w2', ['a']), 3);
    expect(await live.count('a')).toBe(2);
    expect(await live.count('b')).toBe(1);
    expect(await live.count('c')).toBe(0);
    setAway(true);
    expect(await live.count('a')).toBeUndefined();
    expect(await live.counts()).toBeUndefined();
  });

  it('after the registry was away, does not take the beats that expired meanwhile for dead workers until a beat’s lifetime has passed', async () => {
    const { registry, inner, setAway } = faultyRegistry();
    const live = new LiveWorkers(registry, { maxAgeMs: 0, recoveryMs: 3_000 });
    await inner.heartbeat(beat('w1', ['a']), 3);
    expect(await live.count('a')).toBe(1);

    // The registry stalls for longer than a beat lives: the worker could not beat, and its beat expired.
    setAway(true);
    for (let second = 0; second < 5; second++) {
      expect(await live.count('a')).toBeUndefined();
      vi.advanceTimersByTime(1_000);
    }
    setAway(false);
    // Back, it says that no worker lives: not believed yet, the worker has not had the time to report in.
    expect(await inner.live()).toEqual([]);
    expect(await live.count('a')).toBeUndefined();
    vi.advanceTimersByTime(1_500);
    expect(await live.count('a')).toBeUndefined();

    // Once it has, it counts; and a model whose workers are truly gone is told so after the same time.
    await inner.heartbeat(beat('w1', ['a']), 3);
    vi.advanceTimersByTime(1_001);
    expect(await live.count('a')).toBe(1);
    expect(await live.count('b')).toBe(0);
  });
});
