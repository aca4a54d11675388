// @ts-check
/*
 * USE-lite's SentencePiece tokenizer, as @energetic-ai/embeddings ships it,
 * with one change. Its `encode` looks up the pieces that start at each
 * position with `trie.commonPrefixSearch(symbols.slice(i))`, copying the rest
 * of the text every time: quadratic, so a 20 KB text blocked the event loop
 * for over a second. No piece is longer than the vocabulary's longest, so the
 * copy is bounded by that length here, and the rest is the library's
 * algorithm step for step (its scores, tie-breaking, back-tracking and
 * merging of unknown pieces), so the ids are the same, in linear time. A test
 * compares the two on texts of every kind. Plain JavaScript, so that the
 * USE-lite thread can load it under tsx, vitest and compiled builds alike.
 */

/**
 * A vocabulary entry as the trie stores it: the piece's symbols, its score, its id.
 * @typedef {[string[], number, number]} Piece
 */

/**
 * The package tokenizer's trie of pieces (a public field of its `Tokenizer`).
 * @typedef {{ commonPrefixSearch(symbols: string[]): Piece[] }} PieceTrie
 */

const SEPARATOR = '\u2581';

export class LinearSentencePiece {
  /**
   * @param {PieceTrie} trie
   * @param {ReadonlyArray<readonly [string, number]>} vocabulary the one the trie was built from: [piece, score] by id
   */
  constructor(trie, vocabulary) {
    /** @private */
    this.trie = trie;
    /** @private */
    this.vocabulary = vocabulary;
    /** @private */
    this.longestPiece = Math.max(...vocabulary.map(([piece]) => Array.from(piece).length));
  }

  /**
   * @param {string} text
   * @returns {number[]}
   */
  encode(text) {
    const normalized = text.normalize('NFKC');
    const input = normalized.length > 0 ? SEPARATOR + normalized.replace(/ /g, SEPARATOR) : normalized;
    const symbols = Array.from(input);
    const n = symbols.length;
    // nodes[end] maps each start position to the pieces spanning start…end, starts in ascending order.
    /** @type {Map<number, Piece[]>[]} */
    const nodes = Array.from({ length: n + 1 }, () => new Map());
    /** @type {number[]} */
    const words = new Array(n + 1).fill(0);
    /** @type {number[]} */
    const best = new Array(n + 1).fill(0);
    for (let i = 0; i < n; i++) {
      for (const piece of this.trie.commonPrefixSearch(symbols.slice(i, i + this.longestPiece))) {
        const end = i + piece[0].length;
        const spanning = /** @type {Map<number, Piece[]>} */ (nodes[end]).get(i);
        if (spanning) spanning.push(piece);
        else /** @type {Map<number, Piece[]>} */ (nodes[end]).set(i, [piece]);
      }
    }
    for (let end = 0; end <= n; end++) {
      for (const pieces of /** @type {Map<number, Piece[]>} */ (nodes[end]).values()) {
        for (const [key, score, index] of pieces) {
          const total = score + /** @type {number} */ (best[end - key.length]);
          if (best[end] === 0 || total >= /** @type {number} */ (best[end])) {
            best[end] = total;
            words[end] = index;
          }
        }
      }
    }
    /** @type {number[]} */
    const reversed = [];
    // As the library does, the walk back steps by each piece's length in UTF-16 units.
    for (let at = words.length - 1; at > 0; ) {
      const id = /** @type {number} */ (words[at]);
      reversed.push(id);
      at -= /** @type {readonly [string, number]} */ (this.vocabulary[id])[0].length;
    }
    /** @type {number[]} */
    const ids = [];
    let previousUnknown = false;
    for (const id of reversed) {
      if (!(previousUnknown && id === 0)) ids.push(id);
      previousUnknown = id === 0;
    }
    return ids.reverse();
  }
}
