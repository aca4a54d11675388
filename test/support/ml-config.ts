import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { MlConfig, ModelEntry } from '../../src/bootstrap/config/schema.js';

/** Writes an ml_config.yaml that the service's loader reads, and returns its path. */
export async function writeMlConfig(file: string, defaultModel: string, models: readonly ModelEntry[]): Promise<string> {
  const config: MlConfig = { default_model: defaultModel, models: [...models] };
  await writeFile(file, stringify(config));
  return file;
}
