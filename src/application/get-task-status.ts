import { TaskNotFoundError, type Task } from '../domain/index.js';
import type { TaskStore } from '../ports/task-store.js';

export class GetTaskStatus {
  constructor(private readonly store: TaskStore) {}

  async execute(taskId: string): Promise<Task> {
    const task = await this.store.get(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    return task;
  }
}
