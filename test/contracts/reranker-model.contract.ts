import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/index.js';
import type { RerankerModel } from '../../src/ports/reranker-model.js';

/** What every `RerankerModel` adapter promises, run against each engine. */
export function rerankerModelContract(
  name: string,
  /** A model whose `info.maxTokens` is small (about 32), so truncation is cheap to reach. */
  load: () => Promise<RerankerModel>,
): void {
  describe(`RerankerModel contract: ${name}`, () => {
    let model: RerankerModel;
    beforeAll(async () => {
      model = await load();
    });
    afterAll(async () => {
      await model?.close();
    });

    const words = (n: number, word = 'apple') => Array.from({ length: n }, (_, i) => `${word}${i % 7}`).join(' ');
    const close = (a: Float32Array, b: Float32Array) => Array.from(a).forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 4));

    it('gives one pair per document, in order, each with the query, and one row of logits per pair', async () => {
      const documents = ['first document', 'a second, different one', 'third'];
      const pairs = await model.tokenizePairs('the query', documents);
      expect(pairs).toHaveLength(3);
      const alone = await Promise.all(documents.map(async (d) => (await model.tokenizePairs('the query', [d]))[0]!));
      expect(pairs).toEqual(alone);
      const logits = await model.scoreTokenized(pairs);
      expect(logits).toHaveLength(3);
      for (const row of logits) expect(row).toHaveLength(model.info.labels);
    });

    it('never makes a pair longer than the model takes, cutting the longer side and keeping the special tokens', async () => {
      const [short] = await model.tokenizePairs('the query', ['x']);
      const [long] = await model.tokenizePairs('the query', [words(200)]);
      expect(long!.ids).toHaveLength(model.info.maxTokens);
      // Its ends are the template's, as for a pair that fits.
      expect(long!.ids[0]).toBe(short!.ids[0]);
      expect(long!.ids.at(-1)).toBe(short!.ids.at(-1));
      // The query, short, is whole.
      expect(long!.ids.slice(0, 4)).toEqual(short!.ids.slice(0, 4));
      const [bothLong] = await model.tokenizePairs(words(200, 'pear'), [words(200)]);
      expect(bothLong!.ids).toHaveLength(model.info.maxTokens);
      expect(bothLong!.ids.at(-1)).toBe(short!.ids.at(-1));
    });

    it('cuts a document to maxDocumentTokens, and from its start when the direction is left', async () => {
      const document = words(40);
      const [capped] = await model.tokenizePairs('q', [document], { maxDocumentTokens: 3 });
      const [whole] = await model.tokenizePairs('q', ['x']);
      expect(capped!.ids.length).toBe(whole!.ids.length - 1 + 3);
      const [right] = await model.tokenizePairs('q', [document]);
      const [left] = await model.tokenizePairs('q', [document], { direction: 'left' });
      expect(left!.ids).toHaveLength(right!.ids.length);
      expect(left!.ids).not.toEqual(right!.ids);
    });

    it('with truncate: false, refuses a pair too long for the model, naming the document, and takes one that fits', async () => {
      const failure = (await model.tokenizePairs('q', ['short', words(200)], { truncate: false }).catch((e: unknown) => e)) as ValidationError;
      expect(failure).toBeInstanceOf(ValidationError);
      expect(failure.issues.map((issue) => issue.path)).toEqual(['documents[1]']);
      expect(await model.tokenizePairs('q', ['short'], { truncate: false })).toEqual(await model.tokenizePairs('q', ['short']));
    });

    it('gives a pair the same logits alone and inside a padded batch, and every time', async () => {
      const documents = [words(20), 'short', words(6)];
      const batch = await model.scoreTokenized(await model.tokenizePairs('the query', documents));
      const alone = await model.scoreTokenized(await model.tokenizePairs('the query', ['short']));
      close(batch[1]!, alone[0]!);
      const again = await model.scoreTokenized(await model.tokenizePairs('the query', ['short']));
      expect(Array.from(again[0]!)).toEqual(Array.from(alone[0]!));
    });

    it('refuses an empty query or an empty list of documents with ValidationError', async () => {
      await expect(model.tokenizePairs('', ['a document'])).rejects.toBeInstanceOf(ValidationError);
      await expect(model.tokenizePairs('a query', [])).rejects.toBeInstanceOf(ValidationError);
      await expect(model.scoreTokenized([])).rejects.toBeInstanceOf(ValidationError);
    });
  });
}
