import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import type { LogFields, Logger } from '../../ports/logger.js';

export interface PinoLoggerOptions {
  readonly level: string;
  readonly name?: string;
  /** Where the JSON lines go; stdout when omitted. Tests pass a stream and read the lines back. */
  readonly destination?: DestinationStream;
  /** A second destination that gets every line too (log shipping). */
  readonly alsoTo?: DestinationStream;
  /** Each line written inside a trace's span carries its `trace_id` and `span_id` (OpenTelemetry's log fields), to jump from it to the trace. */
  readonly traceIds?: boolean;
}

class PinoLogger implements Logger {
  constructor(private readonly pino: Pino) {}

  debug(message: string, fields?: LogFields): void {
    this.pino.debug(fields ?? {}, message);
  }

  info(message: string, fields?: LogFields): void {
    this.pino.info(fields ?? {}, message);
  }

  warn(message: string, fields?: LogFields): void {
    this.pino.warn(fields ?? {}, message);
  }

  error(message: string, fields?: LogFields): void {
    this.pino.error(fields ?? {}, message);
  }

  child(fields: LogFields): Logger {
    return new PinoLogger(this.pino.child(fields));
  }
}

export function createPinoLogger(options: PinoLoggerOptions): Logger {
  const base = pino(
    {
      level: options.level,
      name: options.name,
      // `err` fields carry Error objects; serialise them with their stack.
      serializers: { err: pino.stdSerializers.err },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers, so log stores can filter on them without a lookup table.
      formatters: { level: (label) => ({ level: label }) },
      ...(options.traceIds && { mixin: traceIdsOfActiveSpan }),
    },
    options.alsoTo
      ? pino.multistream([
          { level: options.level as pino.Level, stream: options.destination ?? process.stdout },
          { level: options.level as pino.Level, stream: options.alsoTo },
        ])
      : options.destination,
  );
  return new PinoLogger(base);
}

function traceIdsOfActiveSpan(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
