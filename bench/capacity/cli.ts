/*
 * npm run capacity -- --rate 2000 --model all-MiniLM-L6-v2 [--batch 32] [--texts-per-request 1]
 * How many workers and API replicas a load needs, and the p95 to expect,
 * from the figures `npm run capacity:measure` wrote to docs/capacity.json.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../test/support/paths.js';
import { plan, TARGET_UTILISATION, type Measured } from './model.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string' },
    model: { type: 'string', default: 'all-MiniLM-L6-v2' },
    batch: { type: 'string', default: '32' },
    'texts-per-request': { type: 'string', default: '1' },
  },
});
const rate = Number(values.rate);
if (!Number.isFinite(rate) || rate <= 0) {
  process.stderr.write('usage: npm run capacity -- --rate <texts per second> [--model all-MiniLM-L6-v2] [--batch 32] [--texts-per-request 1]\n');
  process.exit(2);
}
const figures = JSON.parse(await readFile(join(REPO_ROOT, 'docs', 'capacity.json'), 'utf8')) as { models: Record<string, Measured> };
const measured = figures.models[values.model];
if (!measured) {
  process.stderr.write(`no measurements for ${values.model}; measured: ${Object.keys(figures.models).join(', ')}\n`);
  process.exit(2);
}
const result = plan(measured, { rate, batchSize: Number(values.batch), textsPerRequest: Number(values['texts-per-request']) });
process.stdout.write(
  [
    `${rate} texts/s of ${values.model} (${values['texts-per-request']} per request, batches of ${values.batch}):`,
    `  workers:      ${result.workers} (one core each; ${Math.round(result.workerUtilisation * 100)}% busy, sized for at most ${TARGET_UTILISATION * 100}%)`,
    `  API replicas: ${result.apiReplicas} (one core each)`,
    `  p95:          ${Number.isFinite(result.p95Ms) ? `${Math.round(result.p95Ms)} ms` : 'unbounded'}`,
    `  RabbitMQ:     ${Math.round(result.brokerMessagesPerSecond)} messages/s;  Redis: ${Math.round(result.redisCommandsPerSecond)} commands/s (measured on async tasks, each long-polled)`,
    `  KEDA:         value "${result.kedaQueueLengthPerReplica}" (waiting messages per worker replica: about a second of one worker's work)`,
    '',
  ].join('\n'),
);
