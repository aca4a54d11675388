import { Socket } from 'node:net';
import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from '../../ports/logger.js';

/** The longest wait between two attempts while the broker stays away, so that work resumes within about a second of its return. */
const MAX_RECONNECT_SECONDS = 1;
const FIRST_RETRY_SECONDS = 0.1;

export interface ConnectionOptions {
  /**
   * amqp:// or amqps:// URL, credentials and vhost included; or several,
   * the nodes of a cluster: each attempt takes the next, so the client
   * connects to any node that answers and, when its node goes, moves on.
   */
  readonly url: string | readonly string[];
  readonly heartbeatSeconds?: number;
  /** How the broker's tools name this client's connection (the `connection_name` client property). */
  readonly connectionName?: string;
  readonly logger: Logger;
}

/**
 * A connection that amqp-connection-manager re-establishes by itself. After
 * a drop the first attempt is immediate (a broker that restarted or closed
 * the connection is usually back at once); while the broker stays away, the
 * delay doubles from 0.1 s up to 1 s, each delay jittered down to half, so
 * that many workers do not reconnect in step. Once connected, it starts over.
 * Refused attempts cost the broker nothing, so the cap stays low: work
 * resumes within about a second of the broker's return.
 */
export function connectWithBackoff(options: ConnectionOptions): AmqpConnectionManager {
  let backoff = FIRST_RETRY_SECONDS;
  const connection = amqp.connect(typeof options.url === 'string' ? [options.url] : [...options.url], {
    reconnectTimeInSeconds: 0,
    heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 5,
    connectionOptions: {
      clientProperties: { connection_name: options.connectionName ?? 'embedding-service' },
      // amqplib leaves Nagle's algorithm on: a small frame written while another is unacknowledged waits
      // for the broker's delayed ACK, about 40 ms, which put 45 ms on every lone request through RabbitMQ.
      noDelay: true,
    },
  });
  connection.on('connect', ({ connection: established, url }) => {
    const socket = socketOf(established);
    if (socket) writeEachTurnAtOnce(socket);
    backoff = FIRST_RETRY_SECONDS;
    connection.reconnectTimeInSeconds = 0;
    options.logger.info('connected to RabbitMQ', { node: nodeOf(url) });
  });
  connection.on('disconnect', ({ err }) => options.logger.warn('disconnected from RabbitMQ; reconnecting', { reason: err?.message }));
  // Emitted before the manager waits reconnectTimeInSeconds for its next attempt.
  connection.on('connectFailed', ({ err }) => {
    connection.reconnectTimeInSeconds = backoff * (0.5 + Math.random() / 2);
    backoff = Math.min(backoff * 2, MAX_RECONNECT_SECONDS);
    options.logger.warn('cannot reach RabbitMQ; retrying', { reason: err?.message, retryInSeconds: connection.reconnectTimeInSeconds });
  });
  return connection;
}

/** Which node a connection went to (host and port, never the credentials). */
function nodeOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** The TCP socket under an amqplib connection (amqplib keeps it as `connection.stream`); undefined if that ever changes. */
function socketOf(established: object): Socket | undefined {
  const inner: unknown = Reflect.get(established, 'connection');
  const stream: unknown = typeof inner === 'object' && inner !== null ? Reflect.get(inner, 'stream') : undefined;
  return stream instanceof Socket ? stream : undefined;
}

/**
 * amqplib writes every frame with a `socket.write` of its own, and with
 * `noDelay` each is a syscall and a packet: a publish is three frames, and
 * a call's round trip (the publish, its confirm's processing, the worker's
 * answer and ack) a dozen. Profiled at 64 clients, those writes were the
 * API's largest CPU cost. Corked from a turn's first write until the turn
 * ends (`process.nextTick`), the turn's frames leave in one `writev`;
 * nothing waits on a timer, so no frame is later than it would have been.
 */
export function writeEachTurnAtOnce(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  socket.write = ((...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return Reflect.apply(write, socket, args) as boolean;
  }) as Socket['write'];
}
