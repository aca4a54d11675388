import {
  failureOf,
  MalformedRequestError,
  newTask,
  prefixedId,
  rankDocuments,
  shorten,
  TaskAlreadyExistsError,
  type Batch,
  type Task,
  type TextChunk,
  toMessage,
} from '../../domain/index.js';
import type { BatchLines, LineAnswer, LineIdentity } from '../../ports/batch-lines.js';
import type { BatchChunk, ChunkOutcome, ChunkTask, PlannedLine, SettledLine } from '../../ports/batch-store.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { TaskPublisher } from '../../ports/task-publisher.js';
import type { TaskStore } from '../../ports/task-store.js';
import { lineWork, plannedLine, textCount, type BatchLineCheck, type LineWork, type ValidLine } from './line-check.js';
import type { LineReader } from './line-reader.js';

/** A chunk never spans more lines than this, however few texts they hold (bad lines hold none). */
const MAX_CHUNK_LINES = 256;

/** Why a line never ran, when a batch is wound down. */
export type Abandonment = 'batch_expired' | 'batch_cancelled';

export interface ChunkOptions {
  /** Texts per task: whole lines are added until the next would pass it. */
  readonly chunkInputs: number;
}

/** A line's answer; `tokens` only for one that succeeded (it goes to the output file, the rest to the error file). */
type Answer = SettledLine & { readonly tokens?: number };

/**
 * Cuts a batch's input into chunks and turns what their tasks came to into
 * output and error lines. A chunk's lines are checked as the endpoint checks
 * a request (`BatchLineCheck`); the good ones become tasks on the bulk lane
 * (embeddings lines one per model, rerank lines one per line, since each has
 * its own query), and the bad ones are answered at once.
 */
export class BatchChunks {
  constructor(
    private readonly lines: BatchLines,
    private readonly check: BatchLineCheck,
    private readonly tasks: TaskStore,
    private readonly queue: TaskPublisher,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly options: ChunkOptions,
  ) {}

  /**
   * Reads the next chunk's lines and creates its tasks, but does not queue
   * them (save the chunk first, then `dispatch` it: a chunk saved is never
   * planned again). With `abandon`, nothing is run: every line is answered
   * with why it never ran.
   */
  async plan(batch: Batch, index: number, reader: LineReader, seen: Set<string>, abandon?: Abandonment): Promise<BatchChunk | undefined> {
    const first = await reader.peek();
    if (!first) return undefined;
    const valid: ValidLine[] = [];
    const refused: SettledLine[] = [];
    let texts = 0;
    let endLine = first.number;
    for (let line = await reader.peek(); line && endLine - first.number < MAX_CHUNK_LINES; line = await reader.peek()) {
      if (abandon) {
        const parsed = this.lines.parse(line.text, batch.endpoint);
        refused.push({ line: line.number, text: this.lines.abandoned(this.identity(parsed.ok ? parsed.request.customId : parsed.customId), abandon) });
      } else {
        const checked = await this.check.execute(line, batch.endpoint, seen);
        if ('error' in checked) {
          refused.push({ line: line.number, text: this.lines.failed(this.identity(checked.customId), checked.error, batch.endpoint) });
        } else {
          if (valid.length > 0 && texts + textCount(checked.request) > this.options.chunkInputs) break;
          texts += textCount(checked.request);
          valid.push(checked);
          seen.add(checked.request.customId);
        }
      }
      await reader.next();
      endLine = line.number + 1;
    }
    const tasks = await this.createTasks(batch, index, valid);
    return { index, firstLine: first.number, endLine, tasks, refused };
  }

  /** Queues a chunk's tasks that wait for a worker (again, after a restart: a task runs once even if queued twice). */
  async dispatch(chunk: BatchChunk): Promise<void> {
    for (const planned of chunk.tasks) {
      const task = await this.tasks.get(planned.taskId);
      if (task?.status === 'queued') await this.queue.publish(toMessage(task));
    }
  }

  /**
   * What a chunk came to, once every task of it is final: its outcome, or
   * `pending` while a task still waits or runs, or the tasks whose lines
   * must run again one by one (`singleLineTasks`): a task refused for a bad
   * input holds lines that are not at fault, and a task whose record is gone
   * must run again.
   */
  async settle(batch: Batch, chunk: BatchChunk, abandon?: Abandonment): Promise<ChunkOutcome | 'pending' | { readonly rerun: ChunkTask[] }> {
    const records = await Promise.all(chunk.tasks.map((t) => this.tasks.get(t.taskId)));
    // A batch wound down runs nothing again: a line whose task is gone never ran.
    const rerun = abandon
      ? []
      : chunk.tasks.filter((planned, i) => {
          const task = records[i];
          return !task || (planned.lines.length > 1 && task.status === 'failed' && (task.failure === 'invalid_input' || task.failure === 'too_large'));
        });
    if (rerun.length > 0) return { rerun };
    if (records.some((task) => task?.status === 'queued' || task?.status === 'running')) return 'pending';
    return outcomeOf([...chunk.refused, ...records.flatMap((task, i) => this.answer(chunk.tasks[i]!, task, abandon, batch.endpoint))]);
  }

  /** What a chunk with no tasks came to (planned while winding down: every line answered already). */
  unrun(chunk: BatchChunk): ChunkOutcome {
    return outcomeOf(chunk.refused);
  }

  /** Each line of a final task, answered: its share of the task's result, or why it has none. */
  private answer(planned: ChunkTask, task: Task | undefined, abandon: Abandonment | undefined, endpoint: Batch['endpoint']): Answer[] {
    let offset = 0;
    return planned.lines.map((line) => {
      const identity = this.identity(line.customId);
      const from = offset;
      offset += line.inputs;
      if (task?.status === 'succeeded' && task.result) {
        const counts = task.result.tokenCounts ?? [];
        const tokens = counts.slice(from, offset).reduce((n, c) => n + c, 0);
        const rows = task.result.vectors.slice(from, offset);
        const marks = { droppedTokens: task.result.droppedTokens?.slice(from, offset), chunks: task.result.chunks?.slice(from, offset) };
        return { line: line.line, tokens, text: this.lines.succeeded(identity, lineAnswer(line, task, rows, tokens, marks)) };
      }
      if (abandon && (!task || task.status === 'cancelled' || task.status === 'expired')) {
        return { line: line.line, text: this.lines.abandoned(identity, abandon) };
      }
      return { line: line.line, text: this.lines.failed(identity, failureOf(task!), endpoint) };
    });
  }

  /** A task's lines as tasks of one line each, their ids suffixed with the line: what `settle` asks to run again. */
  async singleLineTasks(batch: Batch, planned: ChunkTask, texts: ReadonlyMap<number, string>): Promise<{ tasks: ChunkTask[]; refused: SettledLine[] }> {
    const tasks: ChunkTask[] = [];
    const refused: SettledLine[] = [];
    for (const line of planned.lines) {
      const text = texts.get(line.line);
      const checked =
        text === undefined ? { error: new MalformedRequestError('The line could not be read again.') } : await this.check.execute({ number: line.line, text }, batch.endpoint, new Set());
      if ('error' in checked) {
        refused.push({ line: line.line, text: this.lines.failed(this.identity(line.customId), checked.error, batch.endpoint) });
        continue;
      }
      const id = `${planned.taskId}.${line.line}`;
      await this.create(batch, id, checked.model, lineWork(checked.request));
      tasks.push({ taskId: id, model: checked.model, lines: [line] });
    }
    return { tasks, refused };
  }

  private identity(customId: string | undefined): LineIdentity {
    return { id: prefixedId('batchRequest', this.ids.next()), requestId: this.ids.next(), ...(customId !== undefined && { customId }) };
  }

  /** Embeddings lines share a task per model; a rerank line has one of its own (its query is the task's). */
  private async createTasks(batch: Batch, index: number, valid: readonly ValidLine[]): Promise<ChunkTask[]> {
    const groups = new Map<string, ValidLine[]>();
    for (const line of valid) {
      // Lines that take long texts differently cannot share a task: one task, one way.
      const group = line.request.kind === 'rerank' ? `${line.line}` : `model:${line.model}:${JSON.stringify(line.request.truncation ?? {})}`;
      groups.set(group, [...(groups.get(group) ?? []), line]);
    }
    const tasks: ChunkTask[] = [];
    for (const lines of groups.values()) {
      const taskId = `${batch.id}.${index}.${tasks.length}`;
      const works = lines.map((l) => lineWork(l.request));
      const { rerank, truncation } = works[0]!;
      await this.create(batch, taskId, lines[0]!.model, { inputs: works.flatMap((w) => w.inputs), ...(rerank && { rerank }), ...(truncation && { truncation }) });
      tasks.push({ taskId, model: lines[0]!.model, lines: lines.map(plannedLine) });
    }
    return tasks;
  }

  /**
   * A chunk planned again after a crash has the same lines, so the same
   * tasks: one already recorded by the first try is taken as it is.
   */
  private async create(batch: Batch, id: string, model: string, work: LineWork): Promise<void> {
    const task = newTask({ id, model, ...work, priority: 0, now: this.clock.now(), lane: 'bulk', ...(batch.owner !== undefined && { owner: batch.owner }) });
    try {
      await this.tasks.create(task);
    } catch (error) {
      if (!(error instanceof TaskAlreadyExistsError)) throw error;
    }
  }
}

/** A line's share of its task's result (`rows`), as its endpoint answers. */
function lineAnswer(
  line: PlannedLine,
  task: Task,
  rows: readonly Float32Array[],
  tokens: number,
  { droppedTokens, chunks }: { droppedTokens?: readonly number[] | undefined; chunks?: readonly (readonly TextChunk[])[] | undefined },
): LineAnswer {
  if ('rerank' in line) {
    const { documents, ...ranking } = line.rerank;
    return { kind: 'rerank', taskId: task.id, model: task.model, results: rankDocuments(rows, ranking), tokens, ...(documents && { documents }) };
  }
  const fit = (v: Float32Array) => (line.dimensions === undefined ? v : shorten(v, line.dimensions));
  return {
    kind: 'embeddings',
    model: task.model,
    vectors: rows.map(fit),
    tokens,
    encoding: line.encoding,
    ...(droppedTokens?.some((n) => n > 0) && { droppedTokens }),
    ...(chunks && { chunks: chunks.map((list) => list.map((chunk) => ({ ...chunk, vector: fit(chunk.vector) }))) }),
  };
}

/** Answers in input order, split between the output file (those that succeeded) and the error file. */
function outcomeOf(answers: readonly Answer[]): ChunkOutcome {
  const sorted = [...answers].sort((a, b) => a.line - b.line);
  const succeeded = sorted.filter((a) => a.tokens !== undefined);
  return {
    output: succeeded.map((a) => a.text).join(''),
    errors: sorted.filter((a) => a.tokens === undefined).map((a) => a.text).join(''),
    completed: succeeded.length,
    failed: sorted.length - succeeded.length,
    tokens: succeeded.reduce((n, a) => n + a.tokens!, 0),
  };
}
