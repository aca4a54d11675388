/**
 * How long one unit of work (an HTTP request) may wait on its stores, in
 * all. Every store command made on its behalf draws from the one allotment,
 * so a request that makes three commands while Redis is stalled answers
 * after one timeout, not three; time it spends waiting on purpose (a long
 * poll, the sync route waiting for its vectors) is not store time and is not
 * charged.
 *
 * Guarantees:
 * - `allot` gives `work`, and everything it starts while it runs (across
 *   awaits, however deep), one allotment of `ms`; allotments never nest into
 *   one another, the innermost applies;
 * - `charge` lets a command run for at most the smaller of `capMs` and what
 *   is left of the allotment of the work it runs for (all of `capMs` outside
 *   any, or once that work has ended), and rejects with a `TimeoutError`
 *   when that runs out, without waiting for the command; with nothing left
 *   it rejects at once, without starting the command;
 * - commands of one work that run at the same time are charged the time
 *   they overlap once, not once each.
 */
export interface StoreBudget {
  allot<T>(ms: number, work: () => Promise<T>): Promise<T>;
  charge<T>(capMs: number, command: () => Promise<T>): Promise<T>;
}
