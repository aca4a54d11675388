import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ModelFingerprints } from '../../ports/model-fingerprints.js';

/** Where a model's files are: a folder, and which ONNX graph in it is the model's when the folder holds several. */
export interface ModelFiles {
  readonly dir: string;
  /** The graph, relative to `dir`; other `.onnx` files there (another precision's) are not the model's. Absent: every file is. */
  readonly graph?: string;
}

/** How long a fingerprint is trusted before the files' sizes and times are looked at again. */
const RECHECK_MS = 10_000;

interface Known {
  readonly signature: string;
  readonly fingerprint: string | undefined;
  readonly checkedAt: number;
}

/**
 * Fingerprints from the files themselves: SHA-256 over each file's path and
 * contents, in path order. Hashing a 90 MB model takes a fraction of a
 * second, so it is done once and again only when a file's size or
 * modification time changes (looked at every ten seconds at most).
 */
export class FileModelFingerprints implements ModelFingerprints {
  private readonly known = new Map<string, Promise<Known>>();

  constructor(
    private readonly models: ReadonlyMap<string, ModelFiles>,
    private readonly recheckMs = RECHECK_MS,
  ) {}

  async of(modelId: string): Promise<string | undefined> {
    const files = this.models.get(modelId);
    if (!files) return undefined;
    const known = this.known.get(modelId);
    const previous = known && (await known);
    if (previous && Date.now() - previous.checkedAt < this.recheckMs) return previous.fingerprint;
    // Whoever comes first looks again; the callers meanwhile wait for the same look.
    if (this.known.get(modelId) === known) {
      this.known.set(modelId, this.refresh(files, previous).catch(() => ({ signature: '', fingerprint: undefined, checkedAt: Date.now() })));
    }
    return (await this.known.get(modelId)!).fingerprint;
  }

  private async refresh(files: ModelFiles, previous: Known | undefined): Promise<Known> {
    const paths = await modelFiles(files);
    const stats = await Promise.all(paths.map((path) => stat(path)));
    const signature = paths.map((path, i) => `${path}:${stats[i]!.size}:${stats[i]!.mtimeMs}`).join('\n');
    if (previous && previous.signature === signature) return { ...previous, checkedAt: Date.now() };
    const hash = createHash('sha256');
    for (const path of paths) {
      hash.update(`${relative(files.dir, path)}\0`);
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    }
    return { signature, fingerprint: paths.length === 0 ? undefined : hash.digest('hex'), checkedAt: Date.now() };
  }
}

async function modelFiles({ dir, graph }: ModelFiles): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  // Without a graph named, the model's is where exports put it: a quantized copy beside it is another model's.
  const own = graph === undefined ? ['model.onnx', 'onnx/model.onnx'] : [graph];
  const isOtherGraph = (path: string) => /\.onnx(_data)?$/.test(path) && !own.some((file) => relative(dir, path).startsWith(file));
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !isOtherGraph(path))
    .sort();
}
