/** One line of a file: its 1-based number and its text, without the line break. */
export interface NumberedLine {
  readonly number: number;
  readonly text: string;
}

/**
 * Reads a file's lines one at a time as its content streams in, holding no
 * more than the chunk under way. `peek` looks at the next line without
 * taking it, so that a planner can leave a line that does not fit for the
 * next chunk. Lines before `from` are skipped (a run resumed part-way).
 */
export class LineReader {
  private readonly decoder = new TextDecoder();
  private readonly chunks: AsyncIterator<Uint8Array>;
  private pending: string[] = [];
  private rest = '';
  private ended = false;
  private number = 0;

  constructor(
    content: AsyncIterable<Uint8Array>,
    private readonly from = 1,
  ) {
    this.chunks = content[Symbol.asyncIterator]();
  }

  async peek(): Promise<NumberedLine | undefined> {
    while (this.pending.length === 0 && !this.ended) await this.fill();
    for (;;) {
      const text = this.pending[0];
      if (text === undefined) return undefined;
      if (this.number + 1 >= this.from) return { number: this.number + 1, text };
      this.pending.shift();
      this.number++;
      while (this.pending.length === 0 && !this.ended) await this.fill();
    }
  }

  async next(): Promise<NumberedLine | undefined> {
    const line = await this.peek();
    if (line) {
      this.pending.shift();
      this.number++;
    }
    return line;
  }

  /** Stops reading the file (its stream is closed). */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }

  private async fill(): Promise<void> {
    const { value, done } = await this.chunks.next();
    const text = done ? this.rest + this.decoder.decode() : this.rest + this.decoder.decode(value, { stream: true });
    const lines = text.split('\n');
    this.rest = done ? '' : lines.pop()!;
    if (done) {
      this.ended = true;
      // A file ending in a newline has no line after it.
      if (lines.at(-1) === '') lines.pop();
    }
    for (const line of lines) this.pending.push(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
