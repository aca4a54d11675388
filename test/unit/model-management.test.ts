import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/bootstrap/config/load.js';
import { modelStatuses, pullModel } from '../../src/cli/model-management.js';
import { OnnxEmbeddingModel } from '../../src/adapters/onnx/onnx-embedding-model.js';
import { OnnxReranker } from '../../src/adapters/onnx/onnx-reranker.js';
import { quantizeOnnxFile } from '../../src/adapters/onnx/quantize.js';
import { writeBertFolder, writeCrossEncoderFolder } from '../support/bert-fixture.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { REPO_ROOT } from '../support/paths.js';

const REPO = 'acme/tiny-bert';

describe('models:pull against a server that answers like the hub', () => {
  let work: string;
  let hub: FakeHub;
  let mlConfigPath: string;
  const logs: string[] = [];
  const pull = (extra: Partial<Parameters<typeof pullModel>[0]> = {}) =>
    pullModel({
      repo: REPO,
      endpoint: hub.url,
      modelsDir: join(work, 'models'),
      mlConfigPath,
      log: (line) => logs.push(line),
      ...extra,
    });

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'pull-'));
    // The hub's layout: the graph under onnx/, as sentence-transformers repositories have it.
    const source = await writeBertFolder(join(work, 'source'), { nested: true });
    hub = await startFakeHub(REPO, source);
    mlConfigPath = join(work, 'ml_config.yaml');
    await writeFile(mlConfigPath, '# models we serve\ndefault_model: use\nmodels:\n  - id: use # the bundled one\n    engine: use-lite\n');
    logs.length = 0;
  });
  afterEach(async () => {
    await hub.close();
  });

  it('names the URL it could not reach, and what to do without internet', async () => {
    const closed = hub.url;
    await hub.close();
    const failure = (await pull({ endpoint: closed }).catch((e: unknown) => e)) as Error;
    expect(failure.message).toContain(`Cannot reach ${closed}/api/models/${REPO}`);
    expect(failure.message).toContain('ECONNREFUSED');
    expect(failure.message).toContain('HF_ENDPOINT');
  });

  it('downloads and checks a sentence-transformers export, adds it to ml_config.yaml, and the service can load it', async () => {
    const { id, dir, added } = await pull();
    expect(id).toBe('tiny-bert');
    expect(added).toBe(true);
    for (const file of ['onnx/model.onnx', 'tokenizer.json', 'config.json', 'modules.json', '1_Pooling/config.json']) {
      await expect(stat(join(dir, file))).resolves.toBeDefined();
    }
    const config = await readFile(mlConfigPath, 'utf8');
    expect(config).toContain('# models we serve');
    expect(config).toContain('# the bundled one');
    expect(config).toMatch(/id: tiny-bert\n\s+engine: onnx\n\s+path: .*tiny-bert/);
    expect(logs.some((l) => /onnx\/model\.onnx: 100%/.test(l))).toBe(true);

    const model = await OnnxEmbeddingModel.load({ id, path: dir });
    expect((await model.embed(['pulled'])).vectors[0]).toHaveLength(32);
    await model.close();
  });

  it('is idempotent: a second pull downloads nothing and adds no second entry', async () => {
    await pull();
    const before = hub.requests.filter((r) => r.path.includes('/resolve/')).length;
    const second = await pull();
    expect(second.added).toBe(false);
    expect(hub.requests.filter((r) => r.path.includes('/resolve/')).length).toBe(before);
    expect((await readFile(mlConfigPath, 'utf8')).match(/id: tiny-bert/g)).toHaveLength(1);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const source = await readFile(join(work, 'source', 'onnx', 'model.onnx'));
    const partial = join(work, 'models', 'tiny-bert', 'onnx', 'model.onnx.part');
    await pull({ onnxFile: 'onnx/model.onnx' });
    // Simulate a download cut in half: drop the finished file, keep half as .part.
    const { rm, mkdir } = await import('node:fs/promises');
    await rm(join(work, 'models', 'tiny-bert', 'onnx', 'model.onnx'));
    await mkdir(join(work, 'models', 'tiny-bert', 'onnx'), { recursive: true });
    await writeFile(partial, source.subarray(0, 1000));
    hub.requests.length = 0;
    await pull();
    expect(hub.requests.find((r) => r.path.endsWith('/onnx/model.onnx'))?.range).toBe('bytes=1000-');
    // Buffer.equals: a deep toEqual over 4 MB takes seconds.
    expect((await readFile(join(work, 'models', 'tiny-bert', 'onnx', 'model.onnx'))).equals(source)).toBe(true);
    expect(logs.some((l) => /resumed at/.test(l))).toBe(true);
  });

  it('discards a download whose checksum does not match', async () => {
    hub.corrupt('onnx/model.onnx');
    await expect(pull()).rejects.toThrow(/onnx\/model\.onnx: sha256 .* does not match/);
    await expect(stat(join(work, 'models', 'tiny-bert', 'onnx', 'model.onnx'))).rejects.toThrow();
    await expect(stat(join(work, 'models', 'tiny-bert', 'onnx', 'model.onnx.part'))).rejects.toThrow();
    expect(await readFile(mlConfigPath, 'utf8')).not.toContain('tiny-bert');
  });

  it('sends HF_TOKEN as a bearer token, and says what is wrong without one', async () => {
    await hub.close();
    hub = await startFakeHub(REPO, join(work, 'source'), { token: 'hf_secret' });
    await expect(pull()).rejects.toThrow(/401 \(a gated or private repository needs HF_TOKEN\)/);
    await pull({ token: 'hf_secret' });
    expect(hub.requests.at(-1)!.authorization).toBe('Bearer hf_secret');
  });

  it('with --dtype int8, fetches the repository\'s own int8 export beside the fp32 one and adds it as <name>-int8', async () => {
    await quantizeOnnxFile(join(work, 'source', 'onnx', 'model.onnx'), join(work, 'source', 'onnx', 'model_int8.onnx'));
    // The hub lists a repository's files when it starts.
    await hub.close();
    hub = await startFakeHub(REPO, join(work, 'source'));
    await pull();
    const { id, dir, added } = await pull({ dtype: 'int8' });
    expect({ id, added }).toEqual({ id: 'tiny-bert-int8', added: true });
    expect(dir).toBe(join(work, 'models', 'tiny-bert'));
    await expect(stat(join(dir, 'onnx', 'model_quantized.onnx'))).resolves.toBeDefined();
    const loaded = loadConfig({ env: { ML_CONFIG_PATH: mlConfigPath }, cwd: REPO_ROOT });
    const entry = loaded.ml.models.find((m) => m.id === id)!;
    expect(entry).toMatchObject({ engine: 'onnx', onnx_file: 'onnx/model_quantized.onnx' });
    const model = await OnnxEmbeddingModel.load({ id, path: dir, onnxFile: entry.onnx_file!, intraOpThreads: 1 });
    expect((await model.embed(['pulled in int8'])).vectors[0]).toHaveLength(32);
    await model.close();
  });

  it('with --dtype int8, says so when the repository has no int8 export, and what to do', async () => {
    await expect(pull({ dtype: 'int8' })).rejects.toThrow(/no onnx\/model_quantized\.onnx.*models:quantize/);
  });

  it('names the ONNX files there are when the one asked for is missing', async () => {
    await expect(pull({ onnxFile: 'onnx/model_qint8.onnx' })).rejects.toThrow(/ONNX files there: onnx\/model\.onnx/);
  });
});

describe('models:pull of a cross-encoder', () => {
  // The repositories issue 25 names, each with its own classifier architecture; the graph is the generated BERT one.
  it.each([
    ['cross-encoder/ms-marco-MiniLM-L6-v2', 'BertForSequenceClassification'],
    ['BAAI/bge-reranker-base', 'XLMRobertaForSequenceClassification'],
    ['mixedbread-ai/mxbai-rerank-xsmall-v1', 'DebertaV2ForSequenceClassification'],
  ])('adds %s, a %s, as a reranker that the configuration takes', async (repo, architecture) => {
    const work = await mkdtemp(join(tmpdir(), 'pull-reranker-'));
    const source = await writeCrossEncoderFolder(join(work, 'source'), { nested: true, maxLength: 32 });
    const config = JSON.parse(await readFile(join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(source, 'config.json'), JSON.stringify({ ...config, architectures: [architecture] }));
    const hub = await startFakeHub(repo, source);
    const mlConfigPath = join(work, 'ml_config.yaml');
    await writeFile(mlConfigPath, 'default_model: use\nmodels:\n  - id: use\n    engine: use-lite\n');
    const logs: string[] = [];
    try {
      const pulled = await pullModel({ repo, endpoint: hub.url, modelsDir: join(work, 'models'), mlConfigPath, log: (line) => logs.push(line) });
      expect(pulled.kind).toBe('reranker');
      await expect(stat(join(pulled.dir, 'onnx', 'model.onnx'))).resolves.toBeDefined();
      expect(logs).toContain(`a cross-encoder (${architecture}): it is added as a reranker`);
      const loaded = loadConfig({ env: { ML_CONFIG_PATH: mlConfigPath }, cwd: REPO_ROOT });
      expect(loaded.ml.models.find((m) => m.id === pulled.id)).toMatchObject({ kind: 'reranker', engine: 'onnx' });
      if (architecture === 'BertForSequenceClassification') {
        const reranker = await OnnxReranker.load({ id: pulled.id, path: pulled.dir, intraOpThreads: 1 });
        expect(await reranker.scoreTokenized(await reranker.tokenizePairs('pulled', ['and scored']))).toHaveLength(1);
        await reranker.close();
      }
    } finally {
      await hub.close();
    }
  });
});

describe('models:pull of a model with prompts', () => {
  // As intfloat/e5-* and BAAI/bge-* keep them in config_sentence_transformers.json; nomic's name a default.
  it.each([
    ['intfloat/e5-small-v2', { query: 'query: ', passage: 'passage: ' }, null, { prompts: { query: 'query: ', passage: 'passage: ' } }],
    [
      'nomic-ai/nomic-embed-text-v1.5',
      { search_query: 'search_query: ', search_document: 'search_document: ' },
      'search_document',
      { prompts: { search_query: 'search_query: ', search_document: 'search_document: ' }, default_prompt_name: 'search_document' },
    ],
    // Empty prompts change nothing: none is written.
    ['sentence-transformers/all-MiniLM-L6-v2', { query: '', document: '' }, null, {}],
  ])('adds %s with its prompts to ml_config.yaml, which the configuration takes', async (repo, prompts, defaultName, expected) => {
    const work = await mkdtemp(join(tmpdir(), 'pull-prompts-'));
    const source = await writeBertFolder(join(work, 'source'), { nested: true });
    const stConfig = JSON.parse(await readFile(join(source, 'config_sentence_transformers.json'), 'utf8').catch(() => '{}')) as Record<string, unknown>;
    await writeFile(join(source, 'config_sentence_transformers.json'), JSON.stringify({ ...stConfig, prompts, default_prompt_name: defaultName }));
    const hub = await startFakeHub(repo, source);
    const mlConfigPath = join(work, 'ml_config.yaml');
    await writeFile(mlConfigPath, 'default_model: use\nmodels:\n  - id: use\n    engine: use-lite\n');
    try {
      const pulled = await pullModel({ repo, endpoint: hub.url, modelsDir: join(work, 'models'), mlConfigPath, log: () => undefined });
      const entry = loadConfig({ env: { ML_CONFIG_PATH: mlConfigPath }, cwd: REPO_ROOT }).ml.models.find((m) => m.id === pulled.id)!;
      expect({ prompts: entry.prompts, default_prompt_name: entry.default_prompt_name }).toEqual({ prompts: undefined, default_prompt_name: undefined, ...expected });
    } finally {
      await hub.close();
    }
  });
});

describe('models:list', () => {
  it('says what is configured, what is on disk, and (without an API) that liveness is unknown', async () => {
    const config = loadConfig({ env: {}, cwd: REPO_ROOT });
    const { models, apiReachable } = await modelStatuses(config, 'http://127.0.0.1:1');
    expect(apiReachable).toBe(false);
    expect(models.map((m) => [m.id, m.present, m.liveWorkers])).toEqual([
      ['universal-sentence-encoder-lite', true, undefined],
      ['all-MiniLM-L6-v2', false, undefined],
      ['all-MiniLM-L12-v2', false, undefined],
    ]);
  });
});
