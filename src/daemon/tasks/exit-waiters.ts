import type { ExitInfo } from '../../shim/protocol.js';
import type { Task } from './task.js';

/**
 * Waits for tasks' exits. A wait is answered by whichever comes first: the
 * shim's exit event (reported here with `exited`) or the shim's answer to
 * its own wait call. The event goes out first; the answer can follow it by
 * the shim's clean-up of the container's cgroups (an rmdir that waits
 * ~10-20 ms when systemd removes the scope's cgroups at the same moment).
 * The answer still counts for an exit whose event was missed.
 */
export class ExitWaiters {
  private readonly waiting = new WeakMap<Task, Array<(exit: ExitInfo) => void>>();

  wait(task: Task): Promise<ExitInfo> {
    if (task.exit) return Promise.resolve(task.exit);
    const event = new Promise<ExitInfo>((resolve) => {
      const waiters = this.waiting.get(task) ?? [];
      waiters.push(resolve);
      this.waiting.set(task, waiters);
    });
    return Promise.race([event, task.shim.call('wait', {})]);
  }

  /** The task's exit is known: every wait on it is answered. */
  exited(task: Task, exit: ExitInfo): void {
    for (const resolve of this.waiting.get(task)?.splice(0) ?? []) resolve(exit);
  }
}
