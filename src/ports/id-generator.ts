/** Task id source. Ids are unique, unguessable and URL-safe. */
export interface IdGenerator {
  next(): string;
}
