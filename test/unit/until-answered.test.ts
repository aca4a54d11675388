import { afterEach, describe, expect, it } from 'vitest';
import { untilAnswered } from '../../src/application/worker/until-answered.js';
import { ServiceUnavailableError } from '../../src/domain/index.js';

describe('untilAnswered', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  it('holds a whole prefetch of deliveries through a stall on one signal without a listener-leak warning, and lets them all go at once when stopped', async () => {
    process.on('warning', onWarning);
    const stopping = new AbortController();
    let tries = 0;
    const unavailable = async () => {
      tries++;
      throw new ServiceUnavailableError('the store is away', 1);
    };
    const held = Array.from({ length: 128 }, () => untilAnswered(unavailable, stopping.signal, () => undefined));
    // Long enough for each to pause and try again a few times.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(tries).toBeGreaterThan(2 * 128);
    const stoppedAt = performance.now();
    stopping.abort();
    const settled = await Promise.allSettled(held);
    expect(performance.now() - stoppedAt).toBeLessThan(1_000);
    expect(settled.every((s) => s.status === 'rejected' && s.reason instanceof ServiceUnavailableError)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });

  it('returns what the command gives once the store answers', async () => {
    let tries = 0;
    const value = await untilAnswered(
      async () => {
        if (++tries < 3) throw new ServiceUnavailableError('not yet', 1);
        return 'answered';
      },
      new AbortController().signal,
      () => undefined,
    );
    expect([value, tries]).toEqual(['answered', 3]);
  });
});
