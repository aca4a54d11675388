import { describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { Lifecycle, untilAborted, type Component } from '../../src/bootstrap/lifecycle.js';
import { LogSink } from '../support/log-sink.js';

function recorder() {
  const events: string[] = [];
  const logs = new LogSink();
  const component = (name: string, behaviour: Partial<Pick<Component, 'start' | 'stop'>> = {}): (() => Component) => () => {
    events.push(`build ${name}`);
    return {
      name,
      start: behaviour.start ?? (async () => void events.push(`start ${name}`)),
      stop: behaviour.stop ?? (async () => void events.push(`stop ${name}`)),
    };
  };
  return { events, logs, component, lifecycle: new Lifecycle(createPinoLogger({ level: 'debug', destination: logs })) };
}

describe('Lifecycle', () => {
  it('builds each component when its turn to start comes, and stops them in reverse order', async () => {
    const { events, component, lifecycle } = recorder();
    await lifecycle.start([component('store'), component('queue'), component('http')]);
    expect(events).toEqual(['build store', 'start store', 'build queue', 'start queue', 'build http', 'start http']);
    events.length = 0;
    await lifecycle.stop(1_000);
    expect(events).toEqual(['stop http', 'stop queue', 'stop store']);
  });

  it('stops what had started, and rethrows, when a component fails to start', async () => {
    const { events, component, lifecycle } = recorder();
    const failing = component('queue', { start: async () => Promise.reject(new Error('broker down')) });
    await expect(lifecycle.start([component('store'), failing, component('http')])).rejects.toThrow('broker down');
    expect(events).toEqual(['build store', 'start store', 'build queue', 'stop store']);
  });

  it('goes on stopping the others when one fails to stop, and says so', async () => {
    const { events, logs, component, lifecycle } = recorder();
    await lifecycle.start([component('store'), component('queue', { stop: async () => Promise.reject(new Error('stuck')) })]);
    await lifecycle.stop(1_000);
    expect(events.filter((e) => e.startsWith('stop'))).toEqual(['stop store']);
    expect(logs.lines.find((l) => l.msg === 'a component failed to stop cleanly')).toMatchObject({ component: 'queue' });
  });

  it('tells every component when the grace period is over, so nothing waits on work in progress', async () => {
    const { events, logs, component, lifecycle } = recorder();
    const never = new Promise<void>(() => undefined);
    const slow = component('worker', {
      stop: async (deadline) => void events.push(`worker drained: ${await untilAborted(never, deadline)}`),
    });
    await lifecycle.start([component('store'), slow]);
    await lifecycle.stop(50);
    expect(events.slice(-2)).toEqual(['worker drained: false', 'stop store']);
    expect(logs.lines.some((l) => String(l.msg).startsWith('grace period over'))).toBe(true);
  });
});

describe('untilAborted', () => {
  it('is true when the work settles first, failed or not', async () => {
    const deadline = new AbortController().signal;
    expect(await untilAborted(Promise.resolve(), deadline)).toBe(true);
    expect(await untilAborted(Promise.reject(new Error('x')), deadline)).toBe(true);
  });

  it('is false at once when the deadline has already passed', async () => {
    expect(await untilAborted(new Promise(() => undefined), AbortSignal.abort())).toBe(false);
  });
});
