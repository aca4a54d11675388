export type CheckStatus = 'ok' | 'failing';

export interface ReadinessReport {
  readonly ready: boolean;
  /** One entry per dependency, e.g. `queue`, `store`, `model:<id>`. */
  readonly checks: Readonly<Record<string, { readonly status: CheckStatus; readonly detail?: string }>>;
}
