/*
 * Deterministic English-like texts: short ones (one sentence, about 12
 * tokens, what most clients send) and long ones (a paragraph, about 150
 * tokens), so every run measures the same work.
 */

const WORDS = (
  'the a service model vector search query document user request fast small large river mountain city ' +
  'people music history science data table report weather market energy health travel food language ' +
  'learn build write read find share open close move change start stop grow keep give take make'
).split(' ');

function* random(seed: number): Generator<number> {
  let a = seed >>> 0;
  for (;;) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    yield ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** `count` texts of `words` words each, the same for the same seed. */
export function sentences(count: number, words: number, seed: number): string[] {
  const rng = random(seed);
  return Array.from({ length: count }, () =>
    Array.from({ length: words }, () => WORDS[Math.floor(rng.next().value! * WORDS.length)]).join(' ') + '.',
  );
}

export const SHORT_TEXTS = sentences(512, 10, 1);
export const LONG_TEXTS = sentences(128, 140, 2);

/** Three short texts to one long one. */
export function mixedText(i: number): string {
  return i % 4 === 3 ? LONG_TEXTS[i % LONG_TEXTS.length]! : SHORT_TEXTS[i % SHORT_TEXTS.length]!;
}

/*
 * Texts no row has sent before: the embedding cache would answer a repeated
 * text without the model, and a row that is not about the cache must not
 * measure it by accident. Drawn from the same words and lengths as the
 * fixed texts, so that they cost the model the same.
 */
const unseen = random(0x5eed);
const draw = (words: number) => Array.from({ length: words }, () => WORDS[Math.floor(unseen.next().value! * WORDS.length)]).join(' ') + '.';

/** A short text (10 words) never drawn before in this run. */
export function freshShort(): string {
  return draw(10);
}

/** Three fresh short texts to one fresh long one, as `mixedText`. */
export function freshMixed(i: number): string {
  return draw(i % 4 === 3 ? 140 : 10);
}
