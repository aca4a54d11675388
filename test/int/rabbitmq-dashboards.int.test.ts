import { describe, expect, it } from 'vitest';
import { dashboardMetrics, exportedNames } from '../support/dashboards.js';
import { rabbitmq, requireOrSkip } from '../support/infra.js';

/*
 * The queue dashboard also charts RabbitMQ's own series, which Prometheus
 * scrapes from the broker's rabbitmq_prometheus plugin (port 15692; the
 * compose stack enables it, and so does .ci/run). Every such series a
 * dashboard names must be one a real broker exports.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const exposition = amqp
  ? await fetch(`http://${new URL(amqp.url).hostname}:15692/metrics`, { signal: AbortSignal.timeout(5_000) })
      .then((r) => (r.ok ? r.text() : undefined))
      .catch(() => undefined)
  : undefined;
if (amqp && !exposition) {
  if (process.env.REQUIRE_INFRA === '1') throw new Error('REQUIRE_INFRA=1 but RabbitMQ serves no metrics on 15692 (rabbitmq-plugins enable rabbitmq_prometheus)');
  console.warn('skipping the RabbitMQ dashboard check: the rabbitmq_prometheus plugin is not enabled');
}

describe.skipIf(!exposition)('dashboards and RabbitMQ’s own metrics', () => {
  it('name only series the broker’s rabbitmq_prometheus plugin exports', async () => {
    const { rabbitmq: named } = await dashboardMetrics();
    expect(named.size).toBeGreaterThan(0);
    const exported = exportedNames(exposition!);
    expect([...named].filter((name) => !exported.has(name))).toEqual([]);
  });
});
