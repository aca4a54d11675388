export type LogFields = Readonly<Record<string, unknown>>;

/**
 * Structured logging. Fields given to `child` appear on every line it writes
 * (request id, task id, model). Logging never throws and never blocks the caller.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}
