// @ts-check
/*
 * The thread side of ThreadClient. Plain JavaScript, so that thread scripts
 * load it the same way under tsx, vitest and compiled builds.
 *
 * Every request carries an id, and every answer echoes it:
 * `{ id, ok: true, ...answer }`, or `{ id, ok: false, error }` when the
 * handler throws. Typed arrays at the top level of an answer move to the
 * caller without a copy.
 */
import { parentPort } from 'node:worker_threads';

/**
 * @param {(message: any) => Promise<Record<string, unknown>>} handle
 */
export function serveRequests(handle) {
  const port = parentPort;
  if (!port) throw new Error('this script runs as a worker thread');
  port.on('message', async (message) => {
    try {
      const answer = await handle(message);
      /** @type {ArrayBuffer[]} */
      const transfer = [];
      for (const value of Object.values(answer)) {
        if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) transfer.push(value.buffer);
      }
      port.postMessage({ id: message.id, ok: true, ...answer }, transfer);
    } catch (error) {
      port.postMessage({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  });
}
