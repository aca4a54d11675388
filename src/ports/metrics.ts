/**
 * The service's measurements, named by what happened rather than by metric
 * type. Recording never throws and does no I/O on the caller's path.
 */
export interface Metrics {
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  taskSubmitted(model: string): void;
  taskCompleted(model: string, outcome: 'succeeded' | 'failed', seconds: number): void;
  /** Time between enqueue and a worker starting the task. */
  taskWaited(model: string, seconds: number): void;
  inference(model: string, batchSize: number, tokens: number, seconds: number): void;
  modelLoaded(model: string, seconds: number): void;
}
