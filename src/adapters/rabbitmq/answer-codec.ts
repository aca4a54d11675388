import type { EmbeddingResult, TaskFailure, TextChunk } from '../../domain/index.js';
import type { CallAnswer } from '../../ports/task-caller.js';

/*
 * A call's answer on the wire: a 4-byte little-endian length, a JSON header
 * of that many bytes (everything but the vectors), then the vectors as
 * float32 little-endian, one after the other. Vectors are most of an
 * answer's bytes; as raw floats they cost neither JSON's text nor base64.
 */

interface Header {
  readonly ok: boolean;
  readonly failure?: TaskFailure;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly count?: number;
  readonly dimensions?: number;
  readonly usage?: EmbeddingResult['usage'];
  readonly tokenCounts?: readonly number[];
  readonly tokenizationMs?: number;
  readonly droppedTokens?: readonly number[];
  readonly chunks?: readonly (readonly (Omit<TextChunk, 'vector'> & { vector: number[] })[])[];
}

export function encodeAnswer(answer: CallAnswer): Buffer {
  if (!answer.ok) return frame({ ok: false, failure: answer.failure }, []);
  const { result } = answer;
  const header: Header = {
    ok: true,
    startedAt: answer.startedAt.getTime(),
    finishedAt: answer.finishedAt.getTime(),
    count: result.vectors.length,
    dimensions: result.dimensions,
    usage: result.usage,
    ...(result.tokenCounts && { tokenCounts: result.tokenCounts }),
    ...(result.tokenizationMs !== undefined && { tokenizationMs: result.tokenizationMs }),
    ...(result.droppedTokens && { droppedTokens: result.droppedTokens }),
    // Float32 values survive JSON exactly: each is a double that prints and parses back to itself.
    ...(result.chunks && { chunks: result.chunks.map((list) => list.map((chunk) => ({ ...chunk, vector: Array.from(chunk.vector) }))) }),
  };
  return frame(header, result.vectors);
}

function frame(header: Header, vectors: readonly Float32Array[]): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const parts = [Buffer.alloc(4), json, ...vectors.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength))];
  parts[0]!.writeUInt32LE(json.length, 0);
  return Buffer.concat(parts);
}

/** Never throws: an answer that does not decode is undefined (and dropped by the caller, who then waits for a redelivery's or times out). */
export function decodeAnswer(content: Buffer): CallAnswer | undefined {
  try {
    const length = content.readUInt32LE(0);
    const header = JSON.parse(content.subarray(4, 4 + length).toString('utf8')) as Header;
    if (!header.ok) return header.failure ? { ok: false, failure: header.failure } : undefined;
    const { count = 0, dimensions = 0 } = header;
    const bytes = content.subarray(4 + length);
    if (bytes.length !== count * dimensions * 4) return undefined;
    // Copied out: a view on the message's buffer need not be aligned for a Float32Array.
    const vectors = Array.from({ length: count }, (_, i) => {
      const vector = new Float32Array(dimensions);
      new Uint8Array(vector.buffer).set(bytes.subarray(i * dimensions * 4, (i + 1) * dimensions * 4));
      return vector;
    });
    const result: EmbeddingResult = {
      vectors,
      dimensions,
      usage: header.usage!,
      ...(header.tokenCounts && { tokenCounts: header.tokenCounts }),
      ...(header.tokenizationMs !== undefined && { tokenizationMs: header.tokenizationMs }),
      ...(header.droppedTokens && { droppedTokens: header.droppedTokens }),
      ...(header.chunks && { chunks: header.chunks.map((list) => list.map((chunk) => ({ ...chunk, vector: Float32Array.from(chunk.vector) }))) }),
    };
    return { ok: true, result, startedAt: new Date(header.startedAt!), finishedAt: new Date(header.finishedAt!) };
  } catch {
    return undefined;
  }
}
