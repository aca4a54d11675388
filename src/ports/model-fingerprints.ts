/**
 * What identifies a model's vectors beyond its configuration: a digest of
 * the contents of its files (weights, tokenizer, pooling settings).
 *
 * Guarantees:
 * - the same files give the same fingerprint, in any process on any
 *   machine; a change to any byte of them gives another, seen within
 *   seconds of the change (no restart needed);
 * - `undefined` when this process cannot read the model's files: whoever
 *   needs the identity then does without (an API without the models
 *   folder mounted caches nothing);
 * - never rejects.
 */
export interface ModelFingerprints {
  of(modelId: string): Promise<string | undefined>;
}
