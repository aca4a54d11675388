import { execFileSync } from 'node:child_process';

/*
 * Cutting a test's own broker connections, never anyone else's: clients name
 * their connections (the `connection_name` client property), and only the
 * connections with that name are closed, with rabbitmqctl on this machine.
 */

/**
 * Whether rabbitmqctl on this machine manages the broker at `url` (CI's
 * case): the machine's own broker, on its standard port. A broker in a
 * container (testcontainers) is not the one rabbitmqctl reaches.
 */
export function canManageBroker(url: string): boolean {
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname) || (port !== '' && port !== '5672')) return false;
  try {
    execFileSync('rabbitmqctl', ['-q', 'status'], { stdio: 'ignore', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The broker's ids of the connections whose client called itself
 * `connectionName`. (`close_connection` takes the id in the form the plain
 * listing prints, `<rabbit@host.…>`, not the JSON formatter's.)
 */
export function connectionsNamed(connectionName: string): string[] {
  const listing = execFileSync('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties', '--no-table-headers'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  const property = `{"connection_name",${JSON.stringify(connectionName)}}`;
  return listing
    .split('\n')
    .filter((line) => line.includes(property))
    .map((line) => line.split('\t')[0]!);
}

/** Closes every connection named `connectionName`, as a network failure would; returns how many. */
export function closeConnectionsNamed(connectionName: string): number {
  const ids = connectionsNamed(connectionName);
  for (const id of ids) {
    execFileSync('rabbitmqctl', ['-q', 'close_connection', id, 'test: simulated network failure'], { stdio: 'ignore', timeout: 15_000 });
  }
  return ids.length;
}

/** Deliveries of `queue` handed to consumers and not yet settled, as the broker counts them now. */
export function unacknowledged(queue: string): number {
  const listing = execFileSync('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages_unacknowledged', '--no-table-headers'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  const row = listing.split('\n').find((line) => line.split('\t')[0] === queue);
  return Number(row?.split('\t')[1] ?? 0);
}
