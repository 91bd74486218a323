/**
 * The shared side of a shared/exclusive gate: operations that may run side
 * by side ("holds"), and a wait for all of them to end. Its users keep
 * their own exclusive side (the collector's run, the content store's blob
 * sweep), and so their own choice of whether a hold that arrives while the
 * exclusive side waits to start gets in first.
 */
export class Holds {
  private count = 0;
  private drained: Array<() => void> = [];

  /** Runs `fn` as one hold, once `exclusive()` no longer returns a run in progress. */
  async run<T>(fn: () => Promise<T>, exclusive: () => Promise<unknown> | undefined): Promise<T> {
    for (let running = exclusive(); running !== undefined; running = exclusive()) await running.catch(() => undefined);
    this.count++;
    try {
      return await fn();
    } finally {
      this.count--;
      if (this.count === 0) for (const wake of this.drained.splice(0)) wake();
    }
  }

  /** Resolves once no hold is out (at once if none is). */
  async drain(): Promise<void> {
    while (this.count > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }
}
