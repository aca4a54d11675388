import { UseLiteEmbeddingModel } from '../src/adapters/tfjs/use-lite-embedding-model.js';
import { compact, type CompactType } from '../src/domain/index.js';
import { sentences } from './corpus.js';
import { log } from './fixtures.js';

/*
 * What compact vectors cost in retrieval, as issue 26 asks: recall@10 of each
 * form against float on a generated corpus, and bytes per vector. The
 * vectors are USE-lite's (its real weights ship with the install), made
 * into each form by the one function every route uses.
 */

const DOCUMENTS = sentences(3000, 16, 3);
const QUERIES = sentences(200, 6, 4);
const K = 10;
/** Binary retrieval then rescored with the floats of this many candidates per hit wanted (a common setting; Cohere's and sentence-transformers' guides use 4 to 10). */
const RESCORE = 4;

export interface CompactRow {
  readonly form: string;
  readonly bytes: number;
  readonly recall: number;
}

type Scorer = (query: number, document: number) => number;

/** The `K` best documents for a query under a scorer, best first. */
function top(scorer: Scorer, query: number, candidates: readonly number[]): number[] {
  return candidates
    .map((document) => ({ document, score: scorer(query, document) }))
    .sort((a, b) => b.score - a.score || a.document - b.document)
    .map((s) => s.document);
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
};

/** Set bits of each byte value. */
const BITS = Array.from({ length: 256 }, (_, b) => b.toString(2).replaceAll('0', '').length);
/** Hamming similarity of two packed sign vectors (ubinary bytes): the bits they agree on. */
const agreement = (a: readonly number[], b: readonly number[]) => {
  let same = 0;
  for (let i = 0; i < a.length; i++) same += 8 - BITS[(a[i]! ^ b[i]!) & 0xff]!;
  return same;
};

export async function compactScenarios(): Promise<CompactRow[]> {
  const model = await UseLiteEmbeddingModel.load({ id: 'use-lite' });
  try {
    const embed = async (texts: readonly string[]) => {
      const vectors: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += 64) vectors.push(...(await model.embed(texts.slice(i, i + 64))).vectors);
      return vectors;
    };
    const documents = await embed(DOCUMENTS);
    const queries = await embed(QUERIES);
    const dims = documents[0]!.length;
    const all = documents.map((_, i) => i);
    const truth = queries.map((_, q) => top((qi, d) => dot(queries[qi]!, documents[d]!), q, all).slice(0, K));
    const recall = (found: (query: number) => number[]) =>
      queries.reduce((sum, _, q) => sum + found(q).slice(0, K).filter((d) => truth[q]!.includes(d)).length / K, 0) / queries.length;
    const form = (type: CompactType) => ({ q: queries.map((v) => compact(v, type)), d: documents.map((v) => compact(v, type)) });

    const int8 = form('int8');
    const uint8 = form('uint8');
    const ubinary = form('ubinary');
    const hamming = (q: number) => top((qi, d) => agreement(ubinary.q[qi]!, ubinary.d[d]!), q, all);
    const rows: CompactRow[] = [
      { form: 'float', bytes: dims * 4, recall: 1 },
      { form: 'int8', bytes: dims, recall: recall((q) => top((qi, d) => dot(int8.q[qi]!, int8.d[d]!), q, all)) },
      // uint8 is int8 + 128: scored as a database that takes it as unsigned does, after taking the offset back off.
      { form: 'uint8', bytes: dims, recall: recall((q) => top((qi, d) => dot(uint8.q[qi]!.map((x) => x - 128), uint8.d[d]!.map((x) => x - 128)), q, all)) },
      { form: 'binary / ubinary (Hamming)', bytes: Math.ceil(dims / 8), recall: recall(hamming) },
      {
        form: `binary, best ${RESCORE * K} rescored with floats`,
        bytes: Math.ceil(dims / 8),
        recall: recall((q) => top((qi, d) => dot(queries[qi]!, documents[d]!), q, hamming(q).slice(0, RESCORE * K))),
      },
    ];
    for (const row of rows) log(`compact ${row.form}: recall@${K} ${row.recall.toFixed(3)}, ${row.bytes} bytes`);
    return rows;
  } finally {
    await model.close();
  }
}

export function compactReport(rows: readonly CompactRow[]): string[] {
  return [
    '',
    `## Compact vectors (USE-lite, ${DOCUMENTS.length} documents, ${QUERIES.length} queries)`,
    '',
    `| Form | Bytes per vector | Recall@${K} against float |`,
    '| --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.form} | ${r.bytes} | ${r.recall.toFixed(3)} |`),
  ];
}
