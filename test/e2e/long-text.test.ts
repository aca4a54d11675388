import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { serveForTests } from '../support/service.js';

/*
 * A text longer than its model reads (tiny-bert: 32 tokens), on the routes
 * that take OpenAI's request: cut and marked `truncated` with the tokens it
 * lost, or refused with `long_text: error`, a model's `long_text` deciding
 * when the request does not. The OpenAI SDK reads the marked answer as any.
 */

const served = serveForTests({ withStrictCopy: true });

/** Longer than tiny-bert's 32 tokens. */
const LONG = `the cat sat on the mat in the morning sun ${'and then it slept '.repeat(6)}until the dog barked loudly at the mailman outside`;

/** Tokens tiny-bert's tokenizer makes of `text`, special tokens included (TEI's /tokenize). */
async function tokensOf(text: string): Promise<number> {
  const [tokens] = (await (await served.t.post('/tokenize', { inputs: text })).json()) as unknown[][];
  return tokens!.length;
}

describe('a text longer than the model reads', () => {
  it('is cut at its end by default, and the answer says so, with the tokens it lost (POST /v1/embeddings, and the OpenAI SDK)', async () => {
    const dropped = (await tokensOf(LONG)) - 32;
    expect(dropped).toBeGreaterThan(10);
    const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: [LONG, 'short'] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Record<string, unknown>[]; usage: { prompt_tokens: number } };
    expect(body.data[0]).toMatchObject({ index: 0, truncated: true, dropped_tokens: dropped });
    expect(body.data[1]).not.toHaveProperty('truncated');
    expect(body.data[1]).not.toHaveProperty('dropped_tokens');
    // usage counts what the model saw.
    expect(body.usage.prompt_tokens).toBe(32 + (await tokensOf('short')));

    const client = new OpenAI({ baseURL: `${served.base}/v1`, apiKey: 'unused' });
    const sdk = await client.embeddings.create({ model: 'tiny-bert', input: [LONG], encoding_format: 'float' });
    expect(sdk.data[0]!.embedding).toHaveLength(32);
    expect(sdk.data[0]).toMatchObject({ truncated: true, dropped_tokens: dropped });
  });

  it('is marked the same in a task’s result (the task API)', async () => {
    const accepted = (await (await served.t.post('/v1/embeddings/tasks', { model: 'tiny-bert', input: ['short', LONG] })).json()) as { id: string };
    const task = (await (await served.t.get(`/v1/embeddings/tasks/${accepted.id}?wait=10`)).json()) as { status: string; result: { data: Record<string, unknown>[] } };
    expect(task.status).toBe('succeeded');
    expect(task.result.data[0]).not.toHaveProperty('truncated');
    expect(task.result.data[1]).toMatchObject({ truncated: true, dropped_tokens: (await tokensOf(LONG)) - 32 });
  });

  it('is refused with long_text: error, naming the text, its tokens and the model’s limit (422, OpenAI’s shape)', async () => {
    const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: ['short', LONG], long_text: 'error' });
    expect(response.status).toBe(422);
    const { error } = (await response.json()) as { error: { message: string; param: string; code: string } };
    expect(error).toMatchObject({ param: 'input[1]', code: 'validation_failed' });
    expect(error.message).toContain(`this text takes ${await tokensOf(LONG)} tokens`);
    expect(error.message).toContain('at most 32');
    // A text that fits is embedded as ever.
    expect((await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: 'short', long_text: 'error' })).status).toBe(200);
  });

  it('follows the model’s long_text when the request does not say, and the request when it does; TEI’s /info reports it', async () => {
    const refused = await served.t.post('/v1/embeddings', { model: 'tiny-bert-strict', input: LONG });
    expect(refused.status).toBe(422);
    const cut = await served.t.post('/v1/embeddings', { model: 'tiny-bert-strict', input: LONG, long_text: 'truncate' });
    expect(cut.status).toBe(200);
    expect(((await cut.json()) as { data: Record<string, unknown>[] }).data[0]).toMatchObject({ truncated: true });
    // TEI's routes read the same setting: truncate absent follows it, truncate: true overrides it.
    expect((await served.t.post('/tei/tiny-bert-strict/embed', { inputs: LONG })).status).toBe(422);
    expect((await served.t.post('/tei/tiny-bert-strict/embed', { inputs: LONG, truncate: true })).status).toBe(200);
    expect(await (await served.t.get('/tei/tiny-bert-strict/info')).json()).toMatchObject({ auto_truncate: false });
    expect(await (await served.t.get('/tei/tiny-bert/info')).json()).toMatchObject({ auto_truncate: true });
    // The task API too: the task fails for its input, naming it.
    const accepted = (await (await served.t.post('/v1/embeddings/tasks', { model: 'tiny-bert-strict', input: LONG })).json()) as { id: string };
    const task = (await (await served.t.get(`/v1/embeddings/tasks/${accepted.id}?wait=10`)).json()) as { status: string; error: string };
    expect(task.status).toBe('failed');
    expect(task.error).toContain('too long');
  });

  it('takes no long_text but truncate and error', async () => {
    const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: LONG, long_text: 'pool' });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('long_text');
  });
});
