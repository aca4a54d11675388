import { sliceResult, type InputLimits, type TaskMessage } from '../../domain/index.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { CallAnswer, TaskCaller } from '../../ports/task-caller.js';
import type { SpanReference, Tracing } from '../../ports/tracing.js';

interface Member {
  readonly message: TaskMessage;
  readonly signal: AbortSignal;
  /** Its request's span, which the joint message's span links to. */
  readonly span: SpanReference | undefined;
  readonly resolve: (answer: CallAnswer) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
}

interface Forming {
  readonly members: Member[];
  inputs: number;
}

/**
 * Calls for one model that arrive in the same turn of the event loop, with
 * the same options, travel as one message, and its answer is split among
 * them: under load, fewer messages for the API to publish, the broker to
 * route and the worker to take and answer, for the same inferences (the
 * worker's batcher merges their texts anyway). As in Nagle's algorithm, a
 * call leaves at once while no call like it is unanswered, so a lone
 * caller never waits for company that is not coming.
 *
 * Each caller keeps what it would have alone:
 * - its own answer, its vectors and token counts and nothing of the others';
 * - a failure of the joint message costs the others nothing: each of its
 *   callers is then sent alone, so an input that breaks the model, or a
 *   message past the worker's limits, fails only its own caller;
 * - its own signal: a caller that stops waiting is rejected at once, and the
 *   joint message is given up only when every caller in it has gone.
 *
 * Only plain embedding calls are joined (no reranking, no long-text
 * windows, the interactive lane): their answers split input by input.
 */
export class CoalescedCalls implements TaskCaller {
  private readonly forming = new Map<string, Forming>();
  /** Per key, messages sent and not yet answered. */
  private readonly unanswered = new Map<string, number>();

  constructor(
    private readonly inner: TaskCaller,
    private readonly ids: IdGenerator,
    /** What a worker accepts in one message: a joint message never holds more. */
    private readonly limits: Pick<InputLimits, 'maxInputs'>,
    /** A joint message travels in a span of its own, linked to each of its callers' (see `Tracing.inBatch`). */
    private readonly tracing?: Tracing,
  ) {}

  call(message: TaskMessage, signal: AbortSignal): Promise<CallAnswer> {
    const key = jointKey(message);
    if (key === undefined || message.inputs.length >= this.limits.maxInputs) return this.inner.call(message, signal);
    // As Nagle's algorithm: with nothing of its kind on the way, a call leaves at once; only under load do calls wait for company.
    if (!this.forming.has(key) && !this.unanswered.has(key)) return this.dispatch(key, message, signal);
    return new Promise<CallAnswer>((resolve, reject) => {
      const member: Member = { message, signal, span: this.tracing?.current(), resolve, reject, settled: false };
      let group = this.forming.get(key);
      if (group && group.inputs + message.inputs.length > this.limits.maxInputs) {
        this.forming.delete(key);
        this.send(key, group.members);
        group = undefined;
      }
      if (!group) {
        const created: Forming = { members: [], inputs: 0 };
        this.forming.set(key, created);
        // After this turn's callers have joined; a timer would cost a millisecond at least.
        setImmediate(() => {
          if (this.forming.get(key) !== created) return;
          this.forming.delete(key);
          this.send(key, created.members);
        });
        group = created;
      }
      group.members.push(member);
      group.inputs += message.inputs.length;
      signal.addEventListener('abort', () => settle(member, () => reject(signal.reason)), { once: true });
    });
  }

  /** The inner call, counted among the key's unanswered messages until it settles. */
  private dispatch(key: string, message: TaskMessage, signal: AbortSignal): Promise<CallAnswer> {
    this.unanswered.set(key, (this.unanswered.get(key) ?? 0) + 1);
    return this.inner.call(message, signal).finally(() => {
      const left = this.unanswered.get(key)! - 1;
      if (left === 0) this.unanswered.delete(key);
      else this.unanswered.set(key, left);
    });
  }

  private send(key: string, members: readonly Member[]): void {
    const live = members.filter((m) => !m.settled && !m.signal.aborted);
    if (live.length === 0) return;
    if (live.length === 1) {
      this.alone(key, live[0]!);
      return;
    }
    const joint = new AbortController();
    for (const member of live) member.signal.addEventListener('abort', () => live.every((m) => m.settled) && joint.abort(), { once: true });
    const message = this.jointMessage(live);
    const dispatch = () => this.dispatch(key, message, joint.signal);
    const attributes = { 'gen_ai.request.model': message.model, 'embedding_service.calls': live.length, 'embedding_service.texts': message.inputs.length };
    (this.tracing ? this.tracing.inBatch('coalesced call', live.map((m) => m.span), attributes, dispatch) : dispatch()).then(
      (answer) => {
        if (!answer.ok || answer.result.tokenCounts === undefined) {
          // Which caller's input failed it cannot be told apart here: each is asked again, alone.
          for (const member of live) if (!member.settled) this.alone(key, member);
          return;
        }
        let start = 0;
        for (const member of live) {
          const end = start + member.message.inputs.length;
          const result = sliceResult(answer.result, start, end);
          settle(member, () => member.resolve({ ...answer, result }));
          start = end;
        }
      },
      (error: unknown) => {
        for (const member of live) settle(member, () => member.reject(error));
      },
    );
  }

  private alone(key: string, member: Member): void {
    this.dispatch(key, member.message, member.signal).then(
      (answer) => settle(member, () => member.resolve(answer)),
      (error: unknown) => settle(member, () => member.reject(error)),
    );
  }

  private jointMessage(members: readonly Member[]): TaskMessage {
    const first = members[0]!.message;
    const { requestId: _requestId, deadline: _deadline, ...common } = first;
    const times = (pick: (m: TaskMessage) => Date | undefined) => members.map((m) => pick(m.message)?.getTime() ?? Number.NaN);
    const deadlines = times((m) => m.deadline);
    return {
      ...common,
      taskId: this.ids.next(),
      calls: members.length,
      inputs: members.flatMap((m) => m.message.inputs),
      enqueuedAt: new Date(Math.min(...times((m) => m.enqueuedAt))),
      // Run while any caller still waits; each caller's own timer ends its wait.
      ...(deadlines.every(Number.isFinite) && { deadline: new Date(Math.max(...deadlines)) }),
    };
  }
}

function settle(member: Member, action: () => void): void {
  if (member.settled) return;
  member.settled = true;
  action();
}

/** Calls with the same key may travel together; undefined: this one travels alone. */
function jointKey(message: TaskMessage): string | undefined {
  if (message.rerank || message.truncation?.windows || message.lane === 'bulk' || message.attempts) return undefined;
  return JSON.stringify([message.model, message.priority, message.truncation ?? null, message.normalize ?? null]);
}
