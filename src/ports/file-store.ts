import type { FilePurpose, FileRecord, NewFile } from '../domain/index.js';

/** What the store asks, once the content is in, to complete the record (a multipart upload may name them after the file). */
export type DescribeFile = () => Promise<Omit<NewFile, 'id'>>;

export interface FileQuery {
  /** Only this key's files; undefined: everyone's. */
  readonly owner?: string;
  readonly purpose?: FilePurpose;
  /** Newest first (`desc`, the default) or oldest first. */
  readonly order?: 'asc' | 'desc';
  /** Only files after this one in that order (a cursor). */
  readonly after?: string;
  readonly limit: number;
}

/**
 * Files and their content, shared by every process that uses the same
 * store, kept until they expire.
 *
 * Guarantees:
 * - `save` consumes `content` whole, then asks `describe` for the rest of the
 *   record, and only then makes the file visible, with its byte and line
 *   counts; if `content` or `describe` throws (a limit broken, a client gone,
 *   a bad field) or the store fails, nothing of the file remains.
 * - An expired or removed file is gone for every call: `get`, `read` and
 *   `remove` answer as for an unknown id, and `list` leaves it out.
 * - `read` returns the content exactly as saved.
 * - A store that cannot be reached rejects with `ServiceUnavailableError`.
 */
export interface FileStore {
  save(id: string, content: AsyncIterable<Uint8Array>, describe: DescribeFile): Promise<FileRecord>;
  get(id: string): Promise<FileRecord | undefined>;
  list(query: FileQuery): Promise<FileRecord[]>;
  read(id: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** True when there was such a file. */
  remove(id: string): Promise<boolean>;
  close(): Promise<void>;
}
