import type { Context } from 'hono';
import type { Allowance, Task } from '../../../domain/index.js';
import type { HttpEnv } from '../types.js';

/**
 * What a synchronous route notes of the task that answered it, whatever its
 * family: the caller's tokens left (the rate-limit headers), and the task and
 * model (the access log and the metrics).
 */
export function answeredBy(c: Context<HttpEnv>, task: Pick<Task, 'id' | 'model'>, tokens: Allowance | undefined): void {
  if (tokens) c.set('rateLimits', { ...c.get('rateLimits'), tokens });
  c.set('taskId', task.id);
  c.set('model', task.model);
}
