import type { ModelDescriptor } from '../domain/index.js';

/**
 * The models this deployment knows, whether or not this process serves them.
 * Listing order is the configuration's order; ids are unique.
 */
export interface ModelCatalog {
  /** The model used when a request names none. */
  readonly defaultModelId: string;
  list(): Promise<readonly ModelDescriptor[]>;
  /** `undefined` when no model has that id. */
  find(id: string): Promise<ModelDescriptor | undefined>;
}
