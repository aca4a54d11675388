import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from '../../ports/logger.js';

const MAX_RECONNECT_SECONDS = 30;

export interface ConnectionOptions {
  /** amqp:// or amqps:// URL, credentials and vhost included. */
  readonly url: string;
  /** Delay before the first reconnection attempt. */
  readonly reconnectSeconds?: number;
  readonly heartbeatSeconds?: number;
  /** How the broker's tools name this client's connection (the `connection_name` client property). */
  readonly connectionName?: string;
  readonly logger: Logger;
}

/**
 * A connection that amqp-connection-manager re-establishes by itself. The
 * delay doubles with each failed attempt while the broker stays away (up to
 * 30 s), and resets once connected.
 */
export function connectWithBackoff(options: ConnectionOptions): AmqpConnectionManager {
  const firstDelay = options.reconnectSeconds ?? 1;
  const connection = amqp.connect([options.url], {
    reconnectTimeInSeconds: firstDelay,
    heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 5,
    connectionOptions: { clientProperties: { connection_name: options.connectionName ?? 'embedding-service' } },
  });
  connection.on('connect', () => {
    connection.reconnectTimeInSeconds = firstDelay;
    options.logger.info('connected to RabbitMQ');
  });
  connection.on('disconnect', ({ err }) => options.logger.warn('disconnected from RabbitMQ; reconnecting', { reason: err?.message }));
  connection.on('connectFailed', ({ err }) => {
    connection.reconnectTimeInSeconds = Math.min(connection.reconnectTimeInSeconds * 2, MAX_RECONNECT_SECONDS);
    options.logger.warn('cannot reach RabbitMQ; retrying', { reason: err?.message, retryInSeconds: connection.reconnectTimeInSeconds });
  });
  return connection;
}
