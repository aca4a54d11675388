/** Who is calling: the owner of an API key. */
export interface Principal {
  /** The key's name (its owner), never the key itself: safe to log. */
  readonly name: string;
  /** An admin sees every task, not only its own. */
  readonly admin: boolean;
}
