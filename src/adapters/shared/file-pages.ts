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
