import {
  ContentTally,
  FileNotFoundError,
  InvalidParameterError,
  visibleTo,
  PayloadTooLargeError,
  type FilePurpose,
  type FileRecord,
  type Principal,
  prefixedId,
} from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { FileStore } from '../../ports/file-store.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { Metrics } from '../../ports/metrics.js';

export interface FileLimits {
  readonly maxBytes: number;
  readonly maxLines: number;
  /** How long a file is kept when its upload names no expiry. */
  readonly defaultTtlSeconds: number;
}

/** What an upload names besides its content: given by the time the content has arrived, or not at all. */
export interface UploadFields {
  readonly filename: string;
  readonly purpose: string | undefined;
  /** `expires_after`: from the file's creation, 1 hour to 30 days. */
  readonly expiresAfterSeconds?: number;
}

/** OpenAI's bounds for `expires_after.seconds`. */
const MIN_EXPIRY_SECONDS = 3_600;
const MAX_EXPIRY_SECONDS = 2_592_000;

/**
 * The Files API: uploads (for batches) within the configured size and line
 * limits, listed, read and deleted by the key that uploaded them (an admin
 * key: every file), and kept until they expire.
 */
export class FileLibrary {
  constructor(
    private readonly store: FileStore,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly limits: FileLimits,
  ) {}

  /**
   * Stores `content` as it arrives, refusing it (`PayloadTooLargeError`)
   * the moment it passes a limit; `fields` resolves once every part of the
   * upload has been read, and a bad field refuses the file as well. Nothing
   * of a refused upload is kept.
   */
  async upload(content: AsyncIterable<Uint8Array>, fields: Promise<UploadFields>, caller: Principal | undefined): Promise<FileRecord> {
    const createdAt = this.clock.now();
    const file = await this.store.save(prefixedId('file', this.ids.next()), this.limited(content), async () => {
      const { filename, purpose, expiresAfterSeconds } = await fields;
      if (purpose !== 'batch') {
        throw new InvalidParameterError('purpose', `purpose must be 'batch': the files this service takes are batch inputs (got ${JSON.stringify(purpose ?? null)}).`);
      }
      if (expiresAfterSeconds !== undefined && !(expiresAfterSeconds >= MIN_EXPIRY_SECONDS && expiresAfterSeconds <= MAX_EXPIRY_SECONDS)) {
        throw new InvalidParameterError('expires_after', `expires_after.seconds must be between ${MIN_EXPIRY_SECONDS} and ${MAX_EXPIRY_SECONDS}.`);
      }
      const ttl = expiresAfterSeconds ?? this.limits.defaultTtlSeconds;
      return {
        filename: filename.slice(0, 255),
        purpose: purpose as FilePurpose,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + ttl * 1000),
        ...(caller && { owner: caller.name }),
      };
    });
    this.metrics.fileStored('batch', file.bytes);
    return file;
  }

  async list(caller: Principal | undefined, query: { purpose?: FilePurpose; after?: string; limit: number; order?: 'asc' | 'desc' }): Promise<FileRecord[]> {
    const owner = caller && !caller.admin ? caller.name : undefined;
    return this.store.list({ ...query, ...(owner !== undefined && { owner }) });
  }

  async get(id: string, caller: Principal | undefined): Promise<FileRecord> {
    return visibleTo(caller, await this.store.get(id), () => new FileNotFoundError(id));
  }

  async content(id: string, caller: Principal | undefined): Promise<{ file: FileRecord; content: AsyncIterable<Uint8Array> }> {
    const file = await this.get(id, caller);
    const content = await this.store.read(id);
    if (!content) throw new FileNotFoundError(id);
    return { file, content };
  }

  async remove(id: string, caller: Principal | undefined): Promise<void> {
    await this.get(id, caller);
    if (!(await this.store.remove(id))) throw new FileNotFoundError(id);
  }

  /** The content, refused the moment it passes a limit: a line counts from its first byte. */
  private async *limited(content: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    const tally = new ContentTally();
    for await (const chunk of content) {
      tally.add(chunk);
      if (tally.bytes > this.limits.maxBytes) {
        throw new PayloadTooLargeError(`The file is larger than ${this.limits.maxBytes} bytes.`, [{ path: 'file', message: `at most ${this.limits.maxBytes} bytes` }]);
      }
      if (tally.lines > this.limits.maxLines) {
        throw new PayloadTooLargeError(`The file has more than ${this.limits.maxLines} lines.`, [{ path: 'file', message: `at most ${this.limits.maxLines} lines` }]);
      }
      yield chunk;
    }
  }
}
