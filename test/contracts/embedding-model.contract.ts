import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishVectors, PayloadTooLargeError, ValidationError } from '../../src/domain/index.js';
import type { EmbeddingModel } from '../../src/ports/embedding-model.js';

/** What every `EmbeddingModel` adapter promises, run against each engine. */
export function embeddingModelContract(
  name: string,
  /** A model whose `info.maxTokens` is small (about 16), so truncation is cheap to reach. */
  load: () => Promise<EmbeddingModel>,
): void {
  describe(`EmbeddingModel contract: ${name}`, () => {
    let model: EmbeddingModel;
    beforeAll(async () => {
      model = await load();
    });
    afterAll(async () => {
      await model?.close();
    });

    const norm = (v: Float32Array) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
    const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 7} apple`).join(' ');

    it('returns one vector per input, in order, of the declared dimensions', async () => {
      const texts = ['first text', 'a second, different text', 'third'];
      const result = await model.embed(texts);
      expect(result.vectors).toHaveLength(3);
      expect(result.tokenCounts).toHaveLength(3);
      for (const v of result.vectors) expect(v).toHaveLength(model.info.dimensions);
      const alone = await model.embed(['a second, different text']);
      expect(Array.from(result.vectors[1]!)).toEqual(expectClose(alone.vectors[0]!));
    });

    it('returns unit vectors when the model normalises', async () => {
      expect(model.info.normalize).toBe(true);
      const { vectors } = await model.embed(['The quick brown fox', 'jumps over the lazy dog']);
      for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 5);
    });

    it('is deterministic', async () => {
      const a = await model.embed(['same text every time']);
      const b = await model.embed(['same text every time']);
      expect(Array.from(a.vectors[0]!)).toEqual(Array.from(b.vectors[0]!));
    });

    it('gives a text the same vector alone and inside a padded batch', async () => {
      const short = 'short one';
      const alone = await model.embed([short]);
      const batch = await model.embed([words(12), short, words(5)]);
      expect(Array.from(batch.vectors[1]!)).toEqual(expectClose(alone.vectors[0]!));
    });

    it('gives different texts different vectors', async () => {
      const { vectors } = await model.embed(['cats purr softly', 'stock markets fell sharply']);
      const dot = vectors[0]!.reduce((sum, x, i) => sum + x * vectors[1]![i]!, 0);
      expect(dot).toBeLessThan(0.999);
    });

    it('truncates at the maximum length instead of failing', async () => {
      const max = model.info.maxTokens;
      expect(max).toBeLessThanOrEqual(64);
      const long = words(max * 2);
      const longer = `${long} and then many more different words appended at the end`;
      const result = await model.embed([long, longer]);
      expect(result.tokenCounts).toEqual([max, max]);
      // Both are cut before the point where they differ, so the model saw the same tokens.
      expect(Array.from(result.vectors[1]!)).toEqual(expectClose(result.vectors[0]!));
    });

    it('cuts at the start instead with direction left, or refuses what is too long with truncate: false, naming the input', async () => {
      const max = model.info.maxTokens;
      const long = words(max * 2);
      const [atEnd, atStart, prefixed] = await Promise.all([
        model.tokenize([long]),
        model.tokenize([long], { direction: 'left' }),
        model.tokenize([`many different words put first and then ${long}`], { direction: 'left' }),
      ]);
      expect(atStart[0]!.ids).toHaveLength(max);
      expect(atStart[0]!.ids).not.toEqual(atEnd[0]!.ids);
      // Cut at the start, a text with other words put first keeps the same end: the same tokens.
      expect(prefixed[0]!.ids).toEqual(atStart[0]!.ids);
      // The default is what `embed` does: cut at the end.
      expect((await model.tokenize([long], { direction: 'right', truncate: true }))[0]!.ids).toEqual(atEnd[0]!.ids);

      const refused = await model.tokenize(['short', long], { truncate: false }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).issues.map((i) => i.path)).toEqual(['input[1]']);
      const fits = await model.tokenize(['short'], { truncate: false });
      expect(fits[0]!.ids).toEqual((await model.tokenize(['short']))[0]!.ids);
      // A request's own limit, below the model's (Cohere's max_tokens), special tokens included.
      const capped = await model.tokenize([long, 'short'], { maxTokens: 6 });
      expect(capped[0]!.ids).toHaveLength(6);
      expect(capped[0]!.ids.slice(0, 3)).toEqual(atEnd[0]!.ids.slice(0, 3));
      expect(capped[1]!.ids).toEqual(fits[0]!.ids.length <= 6 ? fits[0]!.ids : expect.any(Array));
      await expect(model.tokenize([long], { maxTokens: 6, truncate: false })).rejects.toBeInstanceOf(ValidationError);
    });

    it('says how many tokens it cut from each text, however it cut them, and none from a text that fits', async () => {
      const max = model.info.maxTokens;
      const long = words(max * 2);
      const cut = await model.tokenize([long, 'short', words(max * 3)]);
      expect(cut[1]!.dropped).toBeUndefined();
      expect(cut[0]!.dropped).toBeGreaterThan(0);
      expect(cut[2]!.dropped).toBeGreaterThan(cut[0]!.dropped!);
      // Cut at either end, or to a request's lower limit, the same text loses what it must to fit.
      const [left] = await model.tokenize([long], { direction: 'left' });
      expect(left!.dropped).toBe(cut[0]!.dropped);
      const [capped] = await model.tokenize([long], { maxTokens: 6 });
      expect(capped!.dropped).toBe(cut[0]!.dropped! + max - 6);
      // Token ids are cut, and counted, as a text's tokens are: all but the room left beside the special tokens.
      const id = cut[1]!.ids.find((_, i) => i > 0 || model.info.engine === 'use-lite')!;
      const specials = (await model.tokenize([[id]]))[0]!.ids.length - 1;
      const [ids] = await model.tokenize([Array.from({ length: max * 2 }, () => id)]);
      expect(ids!.ids).toHaveLength(max);
      expect(ids!.dropped).toBe(max * 2 - (max - specials));
    });

    it('cuts a long text into windows when asked to embed it whole, each within the model’s length, together holding every token', async () => {
      const max = model.info.maxTokens;
      const long = words(max * 3);
      const [cut] = await model.tokenize([long]);
      const whole = cut!.ids.length + cut!.dropped!;
      const [short, windowed] = await model.tokenize(['short', long], { windows: { overlap: 2, chunks: true, maxTextTokens: 10_000 } });
      expect(short!.windows).toBeUndefined();
      const windows = windowed!.windows!;
      expect(windows.length).toBeGreaterThan(2);
      expect(windowed!.ids).toEqual(windows[0]!.ids);
      for (const window of windows) expect(window.ids.length).toBeLessThanOrEqual(max);
      // Every token once, and the overlap twice: the special tokens aside, the windows hold the text and 2 tokens per seam.
      const specials = (await model.tokenize([[cut!.ids.find((_, i) => i > 0 || model.info.engine === 'use-lite')!]]))[0]!.ids.length - 1;
      expect(windows.reduce((sum, w) => sum + w.ids.length - specials, 0)).toBe(whole - specials + 2 * (windows.length - 1));
      // Where the tokenizer gives offsets (not SentencePiece's), each window says where it lies: in order, overlapping at the seams.
      if (windows[0]!.span) windows.forEach((w, i) => i > 0 && expect(w.span!.start).toBeLessThan(windows[i - 1]!.span!.end));
      await expect(model.tokenize([long], { windows: { overlap: 0, chunks: false, maxTextTokens: max } })).rejects.toBeInstanceOf(PayloadTooLargeError);
    });

    it('counts tokens the way it embeds them, and embeds tokenized texts the same, before normalizing', async () => {
      const texts = ['one', 'one two three four five', words(40)];
      const tokenized = await model.tokenize(texts);
      const { tokenCounts, vectors } = await model.embed(texts);
      expect(tokenized.map((t) => t.ids.length)).toEqual(tokenCounts);
      const pooled = await model.embedTokenized(tokenized);
      // embedTokenized leaves scaling to its caller; scaled as the model says, its vectors are embed's.
      const finished = finishVectors(pooled.map((v) => Float32Array.from(v)), model.info.normalize);
      finished.forEach((v, i) => expect(Array.from(v)).toEqual(expectClose(vectors[i]!)));
      expect(tokenCounts[0]!).toBeGreaterThan(0);
      expect(tokenCounts[1]!).toBeGreaterThan(tokenCounts[0]!);
      expect(tokenCounts[2]!).toBe(model.info.maxTokens);
    });

    it('rejects an empty list and an empty text', async () => {
      await expect(model.embed([])).rejects.toBeInstanceOf(ValidationError);
      await expect(model.embed(['fine', ''])).rejects.toBeInstanceOf(ValidationError);
      await expect(model.embedTokenized([])).rejects.toBeInstanceOf(ValidationError);
    });
  });
}

function expectClose(expected: Float32Array) {
  return Array.from(expected).map((x) => expect.closeTo(x, 5));
}
