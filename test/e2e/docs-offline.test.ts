import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, offlineContext } from '../support/browser.js';
import { startTestService, type TestService } from '../support/service.js';

/*
 * /docs in a real browser with no internet: headless Chromium that can reach
 * 127.0.0.1 and nothing else. The page must render every operation of
 * /openapi.json, and "Try it out" on POST /v1/embeddings must return vectors.
 */

const browser = await launchChromium();

describe.skipIf(!browser)('the API docs, offline', () => {
  let t: TestService;
  let base: string;
  beforeAll(async () => {
    t = await startTestService({ listen: true });
    base = `http://127.0.0.1:${t.service.port}`;
    await t.service.modelsSettled;
  });
  afterAll(async () => {
    await (browser as Browser | undefined)?.close();
    await t?.stop();
  });

  it('renders every route of /openapi.json from the service’s own assets, and runs POST /v1/embeddings', async () => {
    const { context, blocked } = await offlineContext(browser!);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });

    const response = await page.goto(`${base}/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");

    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations).toContain('POST /v1/embeddings');
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
    const rendered = await page
      .locator('.opblock-summary')
      .evaluateAll((blocks) =>
        blocks.map((b) => `${b.querySelector('.opblock-summary-method')?.textContent?.trim()} ${b.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`),
      );
    expect(rendered.sort()).toEqual(operations.sort());

    // Try it out: POST /v1/embeddings with the body Swagger UI offers, edited to a text of our own.
    const operation = page.locator('#operations-OpenAI-compatible-post_v1_embeddings');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.locator('textarea.body-param__text').fill(JSON.stringify({ model: 'tiny-bert', input: 'Hello from the docs page' }));
    await operation.getByRole('button', { name: 'Execute' }).click();
    const answer = operation.locator('.live-responses-table tbody .response-col_status').first();
    await expect.poll(async () => (await answer.textContent())?.trim(), { timeout: 15_000 }).toBe('200');
    const body = await operation.locator('.live-responses-table .microlight').first().textContent();
    const parsed = JSON.parse(body ?? '{}') as { data?: { embedding: number[] }[] };
    expect(parsed.data?.[0]?.embedding).toHaveLength(32);

    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
