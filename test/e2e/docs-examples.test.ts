import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.js';
import { startTestService, type TestService } from '../support/service.js';

/*
 * The bulk-jobs example (docs/bulk-jobs.md), run as written against the
 * service: only its base URL and model are changed to the test service's.
 */

const run = promisify(execFile);

describe('the bulk-jobs example in docs/bulk-jobs.md', () => {
  let t: TestService;
  // Inside node_modules, so that the example's `import 'openai'` resolves, and lint leaves it alone.
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'readme-example');
  beforeAll(async () => {
    t = await startTestService({ listen: true });
    await t.service.modelsSettled;
    await mkdir(dir, { recursive: true });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a batch to completion and prints a vector size per document', async () => {
    const page = await readFile(join(REPO_ROOT, 'docs', 'bulk-jobs.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(page)![1]!;
    expect(code).toContain("'http://localhost:8000/v1'");
    const script = join(dir, 'bulk.mts');
    await writeFile(
      script,
      code.replace("'http://localhost:8000/v1'", `'http://127.0.0.1:${t.service.port}/v1'`).replace("'universal-sentence-encoder-lite'", "'tiny-bert'"),
    );
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, timeout: 60_000 });
    expect(stdout).toContain("completed { total: 3, completed: 3, failed: 0 }");
    expect(stdout).toMatch(/doc-0 \d+\ndoc-1 \d+\ndoc-2 \d+/);
  });
});

describe('the README’s Quickstart', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ withUseLite: true });
    await t.service.modelsSettled;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers its first request with the dimensions and token count it shows', async () => {
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    const quickstart = readme.slice(readme.indexOf('## Quickstart'));
    const body = JSON.parse(/-d '([^']+)'/.exec(quickstart)![1]!) as { input: string[] };
    const shown = /"dimensions":(\d+),"usage":\{"prompt_tokens":(\d+),"total_tokens":(\d+)\}/.exec(quickstart)!;
    // The README's default model is USE-lite; the test service names it use-lite.
    const { id } = (await (await t.post('/v1/embeddings/tasks', { ...body, model: 'use-lite' })).json()) as { id: string };
    const task = (await (await t.get(`/v1/embeddings/tasks/${id}?wait=30`)).json()) as {
      status: string;
      result: { dimensions: number; usage: { prompt_tokens: number; total_tokens: number } };
    };
    expect(task.status).toBe('succeeded');
    expect([task.result.dimensions, task.result.usage.prompt_tokens, task.result.usage.total_tokens]).toEqual(shown.slice(1, 4).map(Number));
  });
});

describe('the README’s Compatible APIs examples', () => {
  let t: TestService;
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'compatible-examples');
  /** The section's code as written, pointed at the test service and its default model. */
  let section: string;
  const local = (code: string) => code.replaceAll('localhost:8000', `127.0.0.1:${t.service.port}`).replaceAll('universal-sentence-encoder-lite', 'tiny-bert');
  beforeAll(async () => {
    t = await startTestService({ listen: true });
    await t.service.modelsSettled;
    await mkdir(dir, { recursive: true });
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    section = readme.slice(readme.indexOf('## Compatible APIs'), readme.indexOf('### Prompts'));
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs each client’s example (OpenAI, Cohere, Hugging Face) as written, each getting its vectors', async () => {
    const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(blocks).toHaveLength(3);
    const answers: unknown[] = [];
    for (const [i, code] of blocks.entries()) {
      const script = join(dir, `example-${i}.mts`);
      // Each example ends holding its answer in one of these; print what it holds.
      const report = `\nconsole.log(JSON.stringify([
        typeof data === 'undefined' ? null : data.map((d) => d.embedding.length),
        typeof embeddings === 'undefined' ? null : Object.keys(embeddings).sort(),
        typeof vectors === 'undefined' ? null : vectors.map((v) => v.length),
      ]));\n`;
      await writeFile(script, local(code) + report);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, timeout: 60_000 });
      answers.push(JSON.parse(stdout.trim().split('\n').at(-1)!));
    }
    const { dimensions } = (await (await t.get('/v1/models/tiny-bert')).json()) as { dimensions: number };
    expect(answers).toEqual([
      [[dimensions, dimensions], null, null],
      [null, ['float', 'int8', 'ubinary'], null],
      [null, null, [dimensions]],
    ]);
  });

  it('runs its curl commands, each answering JSON without an error', async () => {
    const commands = /```sh\n([\s\S]*?)```/.exec(section)![1]!.replaceAll('\\\n', ' ').split('\n').filter((line) => line.startsWith('curl'));
    expect(commands).toHaveLength(3);
    for (const command of commands) {
      const { stdout } = await run('bash', ['-c', local(command)], { timeout: 30_000 });
      const answer = JSON.parse(stdout) as unknown;
      expect(answer, command).not.toHaveProperty('error');
      expect(JSON.stringify(answer).length, command).toBeGreaterThan(10);
    }
  });
});
