import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../bootstrap/config/load.js';
import { modelStatuses, pullModel } from './model-management.js';
import { quantizeConfiguredModel } from './model-quantize.js';

const USAGE = `usage:
  npm run models:pull -- <owner/name> [--revision R] [--id ID] [--onnx-file PATH] [--dtype fp32|int8]
      downloads a sentence-transformers ONNX export from the Hugging Face hub
      into models/ and adds it to config/ml_config.yaml (a cross-encoder, whose
      config.json names a *ForSequenceClassification architecture, as a reranker);
      --dtype int8 takes the repository's own onnx/model_quantized.onnx or
      onnx/model_int8.onnx and adds it as <name>-int8
      (HF_ENDPOINT: the hub or a mirror, default https://huggingface.co; HF_TOKEN: for gated models)
  npm run models:quantize -- <model> [--check]
      writes an int8 copy of a configured ONNX model (dynamic quantization:
      int8 weights, activations quantized at run time) beside its graph as
      model_quantized.onnx, and adds it to config/ml_config.yaml as <model>-int8;
      --check compares its output with the original's on sample texts
  npm run models:list [-- --api-url URL]
      the configured models, whether their files are here, and how many live
      workers serve each (asked of the API at URL, default API_URL or this
      machine's API_HOST and API_PORT)
`;

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === undefined || command === 'help' || command === '--help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const config = loadConfig({ env: process.env });
  const mlConfigPath = resolve(config.service.ml_config_path);

  if (command === 'pull') {
    const parsed = parse(() =>
      parseArgs({
        args: rest,
        allowPositionals: true,
        options: { revision: { type: 'string' }, id: { type: 'string' }, 'onnx-file': { type: 'string' }, dtype: { type: 'string' } },
      }),
    );
    if (!parsed) return 2;
    const { values, positionals } = parsed;
    if (values.dtype !== undefined && values.dtype !== 'fp32' && values.dtype !== 'int8') {
      process.stderr.write(`--dtype is fp32 or int8, not '${values.dtype}'\n\n${USAGE}`);
      return 2;
    }
    const repo = positionals[0];
    if (!repo || !/^[\w.-]+\/[\w.-]+$/.test(repo)) {
      process.stderr.write(`models:pull needs a hub repository id such as sentence-transformers/all-MiniLM-L6-v2\n\n${USAGE}`);
      return 2;
    }
    await pullModel({
      repo,
      ...(values.revision && { revision: values.revision }),
      ...(values.id && { id: values.id }),
      ...(values['onnx-file'] && { onnxFile: values['onnx-file'] }),
      ...(values.dtype && { dtype: values.dtype }),
      endpoint: process.env.HF_ENDPOINT ?? 'https://huggingface.co',
      ...(process.env.HF_TOKEN && { token: process.env.HF_TOKEN }),
      modelsDir: resolve(dirname(mlConfigPath), '..', 'models'),
      mlConfigPath,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    return 0;
  }

  if (command === 'quantize') {
    const parsed = parse(() => parseArgs({ args: rest, allowPositionals: true, options: { check: { type: 'boolean' } } }));
    if (!parsed) return 2;
    const modelId = parsed.positionals[0];
    if (!modelId) {
      process.stderr.write(`models:quantize needs the id of a configured model\n\n${USAGE}`);
      return 2;
    }
    await quantizeConfiguredModel({ modelId, config, mlConfigPath, check: parsed.values.check ?? false, log: (line) => process.stderr.write(`${line}\n`) });
    return 0;
  }

  if (command === 'list') {
    const parsed = parse(() => parseArgs({ args: rest, options: { 'api-url': { type: 'string' } } }));
    if (!parsed) return 2;
    const host = config.service.api.host === '0.0.0.0' ? '127.0.0.1' : config.service.api.host;
    const apiUrl = parsed.values['api-url'] ?? process.env.API_URL ?? `http://${host}:${config.service.api.port}`;
    const { models, apiReachable } = await modelStatuses(config, apiUrl);
    const rows = [['MODEL', 'ENGINE', 'PRESENT', 'LIVE WORKERS', 'PATH']];
    for (const m of models) {
      rows.push([m.id, m.engine, m.present ? 'yes' : 'no', m.liveWorkers === undefined ? '?' : String(m.liveWorkers), m.path]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    if (!apiReachable) process.stdout.write(`\n(live workers unknown: no API answered at ${apiUrl}; give the API's URL with --api-url or API_URL)\n`);
    return 0;
  }

  process.stderr.write(`unknown command '${command}'\n\n${USAGE}`);
  return 2;
}

/** The command's options, or undefined (with the usage printed) when they do not parse. */
function parse<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return undefined;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
