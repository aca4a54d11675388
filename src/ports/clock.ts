/** Time source, injected so that tests can pin it. */
export interface Clock {
  now(): Date;
}
