import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** A file of a hub repository, as its tree API describes it. */
export interface HubFile {
  readonly path: string;
  readonly size: number;
  /** sha256 of the content, for files kept in LFS (model weights). */
  readonly sha256?: string;
  /** git's blob id (sha1 of "blob <size>\0" + content), for other files. */
  readonly gitOid?: string;
}

export interface HubClientOptions {
  /** https://huggingface.co, or a mirror (HF_ENDPOINT). */
  readonly endpoint: string;
  /** Sent as a bearer token (HF_TOKEN), for gated and private repositories. */
  readonly token?: string;
}

export interface DownloadProgress {
  readonly path: string;
  readonly received: number;
  readonly total: number;
  readonly resumedFrom: number;
}

interface TreeEntry {
  readonly type: string;
  readonly path: string;
  readonly size: number;
  readonly oid?: string;
  readonly lfs?: { readonly oid: string; readonly size: number };
}

export class HubError extends Error {}

/**
 * The parts of the Hugging Face hub's HTTP API that a model download needs:
 * the recursive file tree of a revision (`/api/models/{repo}/tree/{rev}`) and
 * file contents (`/{repo}/resolve/{rev}/{path}`), which it resumes with Range
 * requests and checks against the sizes and checksums the tree gives.
 */
export class HubClient {
  constructor(private readonly options: HubClientOptions) {}

  async listFiles(repo: string, revision: string): Promise<HubFile[]> {
    const files: HubFile[] = [];
    let url: string | undefined = `${this.base()}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
    while (url) {
      const response = await this.get(url);
      const entries = (await response.json()) as TreeEntry[];
      for (const entry of entries) {
        if (entry.type !== 'file') continue;
        files.push({
          path: entry.path,
          size: entry.lfs?.size ?? entry.size,
          ...(entry.lfs ? { sha256: entry.lfs.oid } : entry.oid ? { gitOid: entry.oid } : {}),
        });
      }
      // The tree API pages with a Link header.
      url = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
    }
    return files;
  }

  /**
   * Downloads `file` to `destination`, through `destination.part`: an
   * interrupted download resumes where it stopped. The file is renamed into
   * place only once its size and checksum match; a mismatch deletes it.
   * A destination that already matches is left alone. Returns whether it downloaded.
   */
  async download(
    repo: string,
    revision: string,
    file: HubFile,
    destination: string,
    onProgress: (progress: DownloadProgress) => void = () => undefined,
  ): Promise<boolean> {
    if (await matches(destination, file)) return false;
    await mkdir(dirname(destination), { recursive: true });
    const part = `${destination}.part`;
    let resumedFrom = (await stat(part).catch(() => undefined))?.size ?? 0;
    if (resumedFrom > file.size) {
      await rm(part);
      resumedFrom = 0;
    }
    if (resumedFrom < file.size) {
      const url = `${this.base()}/${repo}/resolve/${encodeURIComponent(revision)}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
      const response = await this.get(url, resumedFrom > 0 ? { range: `bytes=${resumedFrom}-` } : {});
      // 206: the rest of the file; 200: the server ignored the range, so start over.
      if (response.status === 200) resumedFrom = 0;
      let received = resumedFrom;
      const body = Readable.fromWeb(response.body as WebReadableStream);
      body.on('data', (chunk: Buffer) => {
        received += chunk.length;
        onProgress({ path: file.path, received, total: file.size, resumedFrom });
      });
      await pipeline(body, createWriteStream(part, { flags: resumedFrom > 0 ? 'a' : 'w' }));
    }
    const problem = await mismatch(part, file);
    if (problem) {
      await rm(part, { force: true });
      throw new HubError(`${file.path}: ${problem}; the download was discarded, run the command again`);
    }
    await rename(part, destination);
    return true;
  }

  private base(): string {
    return this.options.endpoint.replace(/\/+$/, '');
  }

  private async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { ...headers, ...(this.options.token && { authorization: `Bearer ${this.options.token}` }) },
        redirect: 'follow',
      });
    } catch (error) {
      // fetch says only "fetch failed"; the reason (DNS, refused, TLS) is its cause.
      const cause = (error as { cause?: { message?: string; code?: string } }).cause;
      throw new HubError(
        `Cannot reach ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}. ` +
          `Without access to ${this.base()}, set HF_ENDPOINT to a mirror of the hub, ` +
          'or copy the model folder into models/ and add it to config/ml_config.yaml.',
        { cause: error },
      );
    }
    if (response.ok) return response;
    const hint =
      response.status === 401 || response.status === 403
        ? ' (a gated or private repository needs HF_TOKEN)'
        : response.status === 404
          ? ' (no such repository, revision or file)'
          : '';
    throw new HubError(`GET ${url} answered ${response.status}${hint}`);
  }
}

async function matches(path: string, file: HubFile): Promise<boolean> {
  const size = (await stat(path).catch(() => undefined))?.size;
  return size === file.size && (await mismatch(path, file)) === undefined;
}

/** Why the file at `path` is not `file`, or undefined when it is. */
async function mismatch(path: string, file: HubFile): Promise<string | undefined> {
  const size = (await stat(path)).size;
  if (size !== file.size) return `expected ${file.size} bytes, got ${size}`;
  if (file.sha256) {
    const digest = await hash('sha256', path);
    if (digest !== file.sha256) return `sha256 ${digest} does not match ${file.sha256}`;
  } else if (file.gitOid) {
    const digest = await hash('sha1', path, `blob ${size}\0`);
    if (digest !== file.gitOid) return `git blob id ${digest} does not match ${file.gitOid}`;
  }
  return undefined;
}

async function hash(algorithm: 'sha1' | 'sha256', path: string, prefix = ''): Promise<string> {
  const digest = createHash(algorithm);
  digest.update(prefix);
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}
