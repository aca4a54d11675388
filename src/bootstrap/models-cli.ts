import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import { modelStatuses, pullModel } from './model-management.js';

/*
 * npm run models:pull -- <hub repo id> [--revision R] [--id ID] [--onnx-file PATH]
 * npm run models:list
 * HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN are honoured.
 */

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const config = loadConfig({ env: process.env });
  const mlConfigPath = resolve(config.service.ml_config_path);

  if (command === 'pull') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { revision: { type: 'string' }, id: { type: 'string' }, 'onnx-file': { type: 'string' } },
    });
    const repo = positionals[0];
    if (!repo || !/^[\w.-]+\/[\w.-]+$/.test(repo)) {
      process.stderr.write('usage: npm run models:pull -- <owner/name> [--revision R] [--id ID] [--onnx-file PATH]\n');
      return 2;
    }
    await pullModel({
      repo,
      ...(values.revision && { revision: values.revision }),
      ...(values.id && { id: values.id }),
      ...(values['onnx-file'] && { onnxFile: values['onnx-file'] }),
      endpoint: process.env.HF_ENDPOINT ?? 'https://huggingface.co',
      ...(process.env.HF_TOKEN && { token: process.env.HF_TOKEN }),
      modelsDir: resolve(dirname(mlConfigPath), '..', 'models'),
      mlConfigPath,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    return 0;
  }

  if (command === 'list') {
    const host = config.service.api.host === '0.0.0.0' ? '127.0.0.1' : config.service.api.host;
    const apiUrl = `http://${host}:${config.service.api.port}`;
    const { models, apiReachable } = await modelStatuses(config, apiUrl);
    const rows = [['MODEL', 'ENGINE', 'PRESENT', 'LIVE WORKERS', 'PATH']];
    for (const m of models) {
      rows.push([m.id, m.engine, m.present ? 'yes' : 'no', m.liveWorkers === undefined ? '?' : String(m.liveWorkers), m.path]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    if (!apiReachable) process.stdout.write(`\n(live workers unknown: no API answered at ${apiUrl})\n`);
    return 0;
  }

  process.stderr.write('usage: models-cli pull <owner/name> | list\n');
  return 2;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
