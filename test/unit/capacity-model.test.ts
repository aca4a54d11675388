import { describe, expect, it } from 'vitest';
import { erlangC, p95Ms, plan, throughputAt, type Measured } from '../../bench/capacity/model.js';

const measured: Measured = {
  workerTextsPerSecond: { '8': 190, '32': 209 },
  loneRequestMs: { p50: 15, p95: 20 },
  apiCpuMsPerRequest: 2,
  brokerMessagesPerText: 2,
  redisCommandsPerText: 26,
};

describe('the capacity model', () => {
  it('computes Erlang C as queueing theory has it', () => {
    // M/M/1: an arrival waits with the probability the server is busy.
    expect(erlangC(1, 0.5)).toBeCloseTo(0.5, 10);
    // M/M/2 at an offered load of one server: 1/3.
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 10);
    expect(erlangC(10, 1)).toBeLessThan(1e-6);
  });

  it('interpolates a worker’s throughput between measured batch sizes, and holds it past them', () => {
    expect(throughputAt(measured, 8)).toBe(190);
    expect(throughputAt(measured, 20)).toBeCloseTo(199.5, 5);
    expect(throughputAt(measured, 128)).toBe(209);
    expect(throughputAt(measured, 1)).toBe(190);
  });

  it('sizes workers for at most 70% busy, API replicas on their CPU, and derives KEDA’s threshold', () => {
    const result = plan(measured, { rate: 2000, batchSize: 32, textsPerRequest: 1 });
    expect(result.workers).toBe(14);
    expect(result.workerUtilisation).toBeLessThanOrEqual(0.7);
    expect(result.apiReplicas).toBe(Math.ceil((2000 * 2) / 1000 / 0.7));
    expect(result.brokerMessagesPerSecond).toBe(4000);
    expect(result.kedaQueueLengthPerReplica).toBe(209);
    // Many servers at 68%: a request seldom waits, so its p95 is about a lone request's.
    expect(result.p95Ms).toBeLessThan(measured.loneRequestMs.p95 + 5);
  });

  it('expects a longer wait as the load nears what the workers sustain, and none past it', () => {
    const at = (rate: number) => p95Ms(measured, { workers: 1, perWorker: 209, rate, textsPerRequest: 1 });
    expect(at(100)).toBeLessThan(at(180));
    expect(at(209)).toBe(Number.POSITIVE_INFINITY);
  });
});
