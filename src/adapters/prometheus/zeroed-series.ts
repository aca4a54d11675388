import { Histogram, type Counter, type Gauge } from 'prom-client';

/**
 * A labelled series appears only once something sets its labels, and a
 * dashboard's panel over a series that does not exist says "No data", not 0.
 * So every series whose label values are known (statuses, kinds, purposes,
 * the models this process knows) is exported at zero from the start.
 */
export function zeroed(models: readonly string[]) {
  return {
    counter(counter: Counter, labels: Record<string, readonly string[]>): void {
      for (const combination of combinations({ ...labels })) counter.inc(combination, 0);
    },
    perModel(metric: Counter | Gauge | Histogram, labels: Record<string, readonly string[]> = {}): void {
      for (const combination of combinations({ model: models, ...labels })) {
        if (metric instanceof Histogram) metric.zero(combination);
        else metric.inc(combination, 0);
      }
    },
  };
}

function combinations(labels: Record<string, readonly string[]>): Record<string, string>[] {
  return Object.entries(labels).reduce<Record<string, string>[]>(
    (partial, [name, values]) => partial.flatMap((combination) => values.map((value) => ({ ...combination, [name]: value }))),
    [{}],
  );
}
