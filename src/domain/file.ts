/** What a file is for: input of a batch, or what a batch wrote (OpenAI's purposes). */
export type FilePurpose = 'batch' | 'batch_output';

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
