import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { MlConfigInput, ModelEntryInput } from '../../src/bootstrap/config/schema.js';

/** Writes an ml_config.yaml that the service's loader reads, and returns its path. */
export async function writeMlConfig(file: string, defaultModel: string, models: readonly ModelEntryInput[], extra: Partial<MlConfigInput> = {}): Promise<string> {
  const config: MlConfigInput = { default_model: defaultModel, models: [...models], ...extra };
  await writeFile(file, stringify(config));
  return file;
}
