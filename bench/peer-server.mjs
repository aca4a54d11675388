// @ts-check
/*
 * The peer this service is compared with: what a Node developer writes first,
 * a plain HTTP server that calls a transformers.js feature-extraction
 * pipeline once per request and answers in OpenAI's shape. Same generated
 * graph, loaded offline from the same folder. Plain JavaScript run by node,
 * as such a server would be.
 *
 * node bench/peer-server.mjs <model folder> <port> [--canned | --rerank]
 *
 * --canned answers every request with the same fixed 384-float vector and
 * loads no model: what an HTTP round trip alone costs on the machine.
 *
 * --rerank serves a cross-encoder instead, as such a server would: one
 * transformers.js AutoModelForSequenceClassification call per request over
 * its (query, document) pairs, answered in Jina's rerank shape.
 */
import { createServer } from 'node:http';
import process from 'node:process';
import { basename, dirname } from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, env, pipeline } from '@huggingface/transformers';

const [folder, port, mode] = process.argv.slice(2);
if (!folder || !port) throw new Error('usage: peer-server.mjs <model folder> <port> [--canned | --rerank]');
env.allowRemoteModels = false;
env.localModelPath = `${dirname(folder)}/`;
const name = basename(folder);
const fixed = Array.from({ length: 384 }, (_, i) => Math.fround(Math.sin(i + 1) / 20));

if (mode === '--rerank') await serveRerank();
else await serveEmbeddings();

async function serveEmbeddings() {
  /** @type {(input: string | string[]) => Promise<number[][]>} */
  const embed =
    mode === '--canned'
      ? async (input) => (Array.isArray(input) ? input : [input]).map(() => fixed)
      : await pipeline('feature-extraction', name, { dtype: 'fp32', device: 'cpu', subfolder: '' }).then(
          (extractor) => async (input) => (await extractor(input, { pooling: 'mean', normalize: true })).tolist(),
        );

  serve(async ({ input, model }) => {
    const vectors = await embed(input);
    return {
      object: 'list',
      data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
      model,
      usage: { prompt_tokens: 0, total_tokens: 0 },
    };
  });
}

async function serveRerank() {
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  const model = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
  serve(async ({ query, documents }) => {
    const inputs = tokenizer(documents.map(() => query), { text_pair: documents, padding: true, truncation: true });
    const { logits } = await model(inputs);
    const scores = Array.from(/** @type {Float32Array} */ (logits.data), (x) => 1 / (1 + Math.exp(-x)));
    return { results: scores.map((relevance_score, index) => ({ index, relevance_score })).sort((a, b) => b.relevance_score - a.relevance_score) };
  });
}

/**
 * A JSON POST server on `port`, with the readiness route the benchmark polls.
 * @param {(request: any) => Promise<unknown>} answer
 */
function serve(answer) {
  createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health/ready') {
      res.writeHead(200).end('ok');
      return;
    }
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', async () => {
      try {
        const reply = await answer(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: String(error) } }));
      }
    });
  }).listen(Number(port), '127.0.0.1');
}
