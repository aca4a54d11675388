import { describe, expect, it } from 'vitest';
import { DrainMeter } from '../../src/application/worker/drain-meter.js';

describe('DrainMeter', () => {
  it('knows no rate before the worker has had work', () => {
    expect(new DrainMeter().rate(10_000)).toBeUndefined();
  });

  it('counts tasks over the time the worker held at least one, not over idle time', () => {
    const meter = new DrainMeter();
    // Two tasks held together for 500 ms, then an idle spell of 10 s.
    meter.taken(0);
    meter.taken(0);
    meter.settled(250);
    meter.settled(500);
    expect(meter.rate(10_500)).toBe(4);
    // A reading with no work changes nothing: the last rate is kept through idleness.
    expect(meter.rate(60_000)).toBe(4);
  });

  it('counts the time of a batch that spans readings, so its tasks do not look quick when it ends', () => {
    const meter = new DrainMeter();
    for (let i = 0; i < 8; i++) meter.taken(0);
    expect(meter.rate(1_000)).toBe(0);
    expect(meter.rate(2_000)).toBe(0);
    for (let i = 0; i < 8; i++) meter.settled(4_000);
    // Eight tasks in four seconds of holding them, across three readings.
    expect(meter.rate(4_000)).toBe(2);
  });

  it('follows a change of pace within its window of readings', () => {
    const meter = new DrainMeter(2);
    const run = (from: number, tasks: number, ms: number) => {
      meter.taken(from);
      for (let i = 1; i < tasks; i++) meter.taken(from);
      for (let i = 0; i < tasks; i++) meter.settled(from + ms);
      return meter.rate(from + ms);
    };
    expect(run(0, 10, 1_000)).toBe(10);
    expect(run(1_000, 2, 1_000)).toBe(6);
    // The first reading has left the window of two.
    expect(run(2_000, 2, 1_000)).toBe(2);
  });
});
