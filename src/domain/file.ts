/** What a file is for: input of a batch, or what a batch wrote (OpenAI's purposes). */
export const FILE_PURPOSES = ['batch', 'batch_output'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

/** A stored file, as the Files API describes it; its content is kept apart. */
export interface FileRecord {
  /** `file-…`, as OpenAI's ids are. */
  readonly id: string;
  readonly filename: string;
  readonly purpose: FilePurpose;
  readonly bytes: number;
  /** Lines of the content (JSONL: one request or result a line). */
  readonly lines: number;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** The name of the API key that uploaded it; absent when the service ran open. */
  readonly owner?: string;
}

/** A file about to be stored: everything but what its content tells. */
export type NewFile = Omit<FileRecord, 'bytes' | 'lines'>;

/**
 * The bytes and lines of content that arrives in chunks: a line counts from
 * its first byte, so a last line without a newline counts too.
 */
export class ContentTally {
  bytes = 0;
  private newlines = 0;
  private lastByte: number | undefined;

  add(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) this.newlines++;
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1];
  }

  get lines(): number {
    return this.newlines + (this.lastByte !== undefined && this.lastByte !== 0x0a ? 1 : 0);
  }
}
