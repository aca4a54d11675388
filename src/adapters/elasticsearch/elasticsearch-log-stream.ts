import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type * as Elasticsearch from '@elastic/elasticsearch';

/*
 * The client is required when a stream is made, not when this module is
 * imported: the composition root imports every adapter, and the client costs
 * about 30 MB of memory in every process that does not ship logs (most).
 */
const require = createRequire(import.meta.url);

export interface ElasticsearchLogOptions {
  /** http(s)://host:port */
  readonly node: string;
  /** A data stream; the index template this stream installs maps its fields. */
  readonly dataStream: string;
  /** Records per bulk request. */
  readonly batchSize: number;
  /** A partial batch is sent after this long. */
  readonly flushIntervalMs: number;
  /** Records held while Elasticsearch is slow or away; beyond it, new ones are dropped. */
  readonly maxBuffered: number;
  /** Told how many records were dropped (not shipped); they went to stdout all the same. */
  readonly onDropped: (count: number) => void;
  /** How long one bulk request may take. */
  readonly requestTimeoutMs?: number;
}

type LogRecord = Record<string, unknown>;

/**
 * A pino destination that ships JSON log lines to Elasticsearch with the
 * official client's bulk API, in batches, from a bounded buffer. Writing
 * never waits on Elasticsearch: a line is buffered and the write returns.
 * While Elasticsearch is slow or down, the buffer fills and then drops what
 * does not fit; a failed bulk request drops its batch. Drops are counted, and
 * stdout (the other destination) still has every line.
 */
export class ElasticsearchLogStream extends Writable {
  private readonly client: Elasticsearch.Client;
  private readonly buffer: LogRecord[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private sending: Promise<void> | undefined;
  private templateInstalled = false;

  constructor(private readonly options: ElasticsearchLogOptions) {
    super({ decodeStrings: false });
    const { Client: ElasticsearchClient } = require('@elastic/elasticsearch') as typeof Elasticsearch;
    this.client = new ElasticsearchClient({ node: options.node, requestTimeout: options.requestTimeoutMs ?? 5_000, maxRetries: 0 });
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      if (this.buffer.length >= this.options.maxBuffered) {
        this.options.onDropped(1);
        continue;
      }
      try {
        this.buffer.push(toDocument(JSON.parse(line) as LogRecord));
      } catch {
        this.options.onDropped(1);
      }
    }
    if (this.buffer.length >= this.options.batchSize) void this.flush();
    done();
  }

  override _final(done: (error?: Error | null) => void): void {
    clearInterval(this.timer);
    this.drain()
      .then(() => this.client.close())
      .then(() => done(), () => done());
  }

  /** Sends what is buffered, one bulk request at a time. */
  async flush(): Promise<void> {
    if (this.sending || this.buffer.length === 0) return this.sending;
    this.sending = this.send(this.buffer.splice(0, this.options.batchSize)).finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0 || this.sending) await (this.sending ?? this.flush());
  }

  private async send(batch: LogRecord[]): Promise<void> {
    try {
      await this.installTemplate();
      const response = await this.client.bulk(
        { index: this.options.dataStream, operations: batch.flatMap((doc) => [{ create: {} }, doc]) },
        // Shipping logs is no part of any request: its bulk requests make no spans in whichever trace they run.
        SHIPPING_UNTRACED,
      );
      if (response.errors) this.options.onDropped(response.items.filter((i) => i.create?.error).length);
    } catch {
      this.options.onDropped(batch.length);
    }
  }

  /** Once per process: the data stream's template, so fields are typed, not guessed. */
  private async installTemplate(): Promise<void> {
    if (this.templateInstalled) return;
    await this.client.indices.putIndexTemplate(
      {
        name: this.options.dataStream,
        index_patterns: [`${this.options.dataStream}*`],
        data_stream: {},
        priority: 200,
        template: {
          mappings: {
            dynamic: true,
            properties: {
              '@timestamp': { type: 'date' },
              level: { type: 'keyword' },
              message: { type: 'text' },
              name: { type: 'keyword' },
              mode: { type: 'keyword' },
              component: { type: 'keyword' },
              requestId: { type: 'keyword' },
              taskId: { type: 'keyword' },
              model: { type: 'keyword' },
              method: { type: 'keyword' },
              path: { type: 'keyword' },
              status: { type: 'short' },
              ms: { type: 'float' },
              hostname: { type: 'keyword' },
              pid: { type: 'integer' },
              trace_id: { type: 'keyword' },
              span_id: { type: 'keyword' },
            },
          },
        },
      },
      SHIPPING_UNTRACED,
    );
    this.templateInstalled = true;
  }
}

const SHIPPING_UNTRACED = { openTelemetry: { enabled: false } };

/** pino's line as an Elasticsearch document: `time` becomes `@timestamp`, `msg` becomes `message`. */
function toDocument(record: LogRecord): LogRecord {
  const { time, msg, ...rest } = record;
  return { '@timestamp': time ?? new Date().toISOString(), message: msg, ...rest };
}
