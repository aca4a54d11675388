import { SHORT_TEXTS } from './corpus.js';
import { log } from './fixtures.js';

interface BatchView {
  readonly id: string;
  readonly status: string;
  readonly request_counts: { total: number; completed: number; failed: number };
}

export interface BulkProgress {
  /** Lines the batch answered per second with nothing else to do. */
  readonly alonePerSecond: number;
  /** Lines the batch answered per second while `body` ran. */
  readonly besidePerSecond: number;
}

/** How long the batch's own pace is measured, with no interactive traffic (after the quiet time that lets bulk batches grow). */
const ALONE_SECONDS = 5;

/**
 * Runs `body` while a batch of `lines` lines (one 10-word text each) is in
 * progress on `model`, once its lines flow; then cancels the batch and waits
 * for it to end, so the next scenario starts on an idle service.
 */
export async function besideABatch(base: string, model: string, lines: number, body: () => Promise<void>): Promise<BulkProgress> {
  const content = Array.from({ length: lines }, (_, i) =>
    JSON.stringify({ custom_id: `b${i}`, method: 'POST', url: '/v1/embeddings', body: { model, input: SHORT_TEXTS[i % SHORT_TEXTS.length] } }),
  ).join('\n');
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([content]), 'bench.jsonl');
  const file = (await (await fetch(`${base}/v1/files`, { method: 'POST', body: form })).json()) as { id: string };
  const created = await fetch(`${base}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }),
  });
  const batch = (await created.json()) as BatchView;
  const view = async () => (await (await fetch(`${base}/v1/batches/${batch.id}`)).json()) as BatchView;
  for (let current = await view(); current.request_counts.completed < 1_000; current = await view()) {
    if (current.status !== 'validating' && current.status !== 'in_progress') throw new Error(`the batch is ${current.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const pace = async (during: () => Promise<void>) => {
    const before = await view();
    const started = performance.now();
    await during();
    const after = await view();
    return { perSecond: (after.request_counts.completed - before.request_counts.completed) / ((performance.now() - started) / 1000), after };
  };
  const alone = await pace(() => new Promise((resolve) => setTimeout(resolve, ALONE_SECONDS * 1000)));
  const beside = await pace(body);
  const after = beside.after;
  log(`batch alone: ${alone.perSecond.toFixed(0)} lines/s; beside the load: ${beside.perSecond.toFixed(0)} lines/s (${after.request_counts.completed} of ${lines} done)`);
  if (after.request_counts.completed + after.request_counts.failed >= lines) log('the batch finished before the load did: make it longer');
  await fetch(`${base}/v1/batches/${batch.id}/cancel`, { method: 'POST' });
  for (let current = await view(); !['cancelled', 'completed'].includes(current.status); current = await view()) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { alonePerSecond: alone.perSecond, besidePerSecond: beside.perSecond };
}
