/** Counts the bytes and lines of content that arrives in chunks: a last line without a newline counts too. */
export class LineCounter {
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

/** The files of a query, in its order and after its cursor, at most its limit. */
export function pageOf<T extends { readonly id: string; readonly createdAt: Date }>(
  files: readonly T[],
  query: { readonly order?: 'asc' | 'desc'; readonly after?: string; readonly limit: number },
): T[] {
  const sorted = [...files].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  if (query.order !== 'asc') sorted.reverse();
  if (query.after === undefined) return sorted.slice(0, query.limit);
  // An unknown cursor (the file expired, or was removed) ends the listing rather than starting it over.
  const at = sorted.findIndex((f) => f.id === query.after);
  return at < 0 ? [] : sorted.slice(at + 1, at + 1 + query.limit);
}
