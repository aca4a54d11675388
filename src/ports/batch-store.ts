import type { Batch, Ranking, VectorEncoding } from '../domain/index.js';

interface PlannedLineBase {
  /** 1-based, as the error file reports it. */
  readonly line: number;
  readonly customId: string;
  /** How many of its task's inputs (in order) are this line's. */
  readonly inputs: number;
}

/** One line of the input file, planned into a task: what its answer needs besides its task's result. */
export type PlannedLine = PlannedLineBase & (
  | { readonly encoding: VectorEncoding; readonly dimensions?: number }
  | {
      readonly rerank: Ranking & {
        /**
         * The line's documents, when its answer carries their texts (a
         * finished task keeps none of its inputs); kept until the chunk's
         * outcome is recorded.
         */
        readonly documents?: readonly string[];
      };
    }
);

/** A task of a chunk: several lines of one model (embeddings), or one line (rerank: its own query), run as one task on the bulk lane. */
export interface ChunkTask {
  readonly taskId: string;
  readonly model: string;
  readonly lines: readonly PlannedLine[];
}

/** A line whose answer is known without running it (refused when planned), as its output line. */
export interface SettledLine {
  readonly line: number;
  readonly text: string;
}

/**
 * A run of consecutive input lines, dispatched together: the unit of
 * progress. Once a chunk is saved, its lines are never planned again; a
 * restart resumes after the last saved chunk.
 */
export interface BatchChunk {
  /** 0, 1, 2, … in input order. */
  readonly index: number;
  /** Lines [firstLine, endLine) of the input file, 1-based. */
  readonly firstLine: number;
  readonly endLine: number;
  readonly tasks: readonly ChunkTask[];
  /** Lines refused before they ran (a bad request), with their error lines. */
  readonly refused: readonly SettledLine[];
}

/** What a chunk's lines came to, as output and error file lines (JSONL, each line ending in a newline). */
/** What a chunk's lines came to, in numbers: a batch's progress is their sum. */
export interface OutcomeCounts {
  readonly completed: number;
  readonly failed: number;
  /** Tokens of the lines that succeeded. */
  readonly tokens: number;
}

export interface ChunkOutcome extends OutcomeCounts {
  readonly output: string;
  readonly errors: string;
}

export interface BatchQuery {
  /** Only this key's batches; undefined: everyone's. */
  readonly owner?: string;
  /** Only batches created before this one (newest first, as OpenAI lists them). */
  readonly after?: string;
  readonly limit: number;
}

/**
 * Batches, their dispatch progress (chunks) and what each chunk came to
 * (outcomes), shared by every API process that uses the same store.
 *
 * Guarantees:
 * - `update` applies `change` to the batch as stored, atomically: a change
 *   computed from a batch that someone else changed meanwhile is computed
 *   again from the new one. An error `change` throws is thrown to the caller,
 *   and nothing is written.
 * - `saveOutcome` records a chunk's outcome once: a second outcome for the
 *   same chunk is refused (false), so no line is counted or written twice.
 * - `lease` gives a batch to one holder at a time, until its time runs out
 *   or the holder releases it; the holder renews it by taking it again.
 * - Batches are kept for `retentionMs` after creation; `unfinished` lists
 *   those not yet final, oldest first.
 * - A store that cannot be reached rejects with `ServiceUnavailableError`.
 */
export interface BatchStore {
  create(batch: Batch): Promise<void>;
  get(id: string): Promise<Batch | undefined>;
  list(query: BatchQuery): Promise<Batch[]>;
  update(id: string, change: (batch: Batch) => Batch): Promise<Batch | undefined>;
  unfinished(): Promise<string[]>;
  lease(id: string, holder: string, ttlMs: number): Promise<boolean>;
  release(id: string, holder: string): Promise<void>;
  /** Saves a chunk, or replaces the one of the same index (its tasks re-planned). */
  saveChunk(id: string, chunk: BatchChunk): Promise<void>;
  /** The batch's chunks, by index. */
  chunks(id: string): Promise<BatchChunk[]>;
  saveOutcome(id: string, index: number, outcome: ChunkOutcome): Promise<boolean>;
  /** Which chunks have an outcome, and what they counted: the batch's progress, recounted. */
  outcomeCounts(id: string): Promise<Map<number, OutcomeCounts>>;
  /** The outcomes, by chunk index, one at a time (a large batch's do not fit in memory together). */
  outcomes(id: string): AsyncIterable<ChunkOutcome>;
  /** Forgets a batch's chunks and outcomes, once its files are written. */
  dropWork(id: string): Promise<void>;
  close(): Promise<void>;
}
