import { freshShort } from './corpus.js';

/*
 * The embedding cache's workload, as issue 28 sets it: half the texts seen
 * before (popular queries, chunks shared by many documents), half never.
 */

/** Texts sent once before the measured load, so that the cache holds them. */
export const SEEN = Array.from({ length: 2_000 }, () => freshShort());

/** Every other request a text seen before, the rest texts never sent. */
export function halfSeen(i: number): string {
  return i % 2 === 0 ? SEEN[(i * 7919) % SEEN.length]! : freshShort();
}

/** Sends every seen text once, so that a service with a cache holds them all. */
export async function warm(base: string, model: string): Promise<void> {
  for (let i = 0; i < SEEN.length; i += 64) await embed(base, { model, input: SEEN.slice(i, i + 64) });
}

/** Whether the cache answers with exactly the vectors and usage the model gave: 64 texts embedded afresh, then asked again. */
export async function identicalWithAndWithout(base: string, model: string): Promise<boolean> {
  const input = Array.from({ length: 64 }, () => freshShort());
  const computed = await embed(base, { model, input, cache: false });
  await embed(base, { model, input });
  const cached = await embed(base, { model, input });
  return cached.hits === 64 && JSON.stringify(cached.body) === JSON.stringify(computed.body);
}

async function embed(base: string, body: Record<string, unknown>): Promise<{ hits: number; body: unknown }> {
  const response = await fetch(`${base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST /v1/embeddings answered ${response.status}: ${await response.text()}`);
  const answer = (await response.json()) as { model: string };
  return { hits: Number(response.headers.get('x-embedding-cache-hits')), body: answer };
}
