/**
 * Durations of the named steps of one operation, for the log line that
 * closes it: a slow create shows in the journal which step was slow.
 */
export class StepTimer {
  private last: number;
  private readonly started: number;
  private readonly steps: Record<string, number> = {};

  /** `start`: when the first step began (performance.now(); 0 is the process's start). */
  constructor(start = performance.now()) {
    this.started = this.last = start;
  }

  /** Ends the step running since the previous mark (or the start). */
  mark(step: string): void {
    const now = performance.now();
    this.steps[step] = round(now - this.last);
    this.last = now;
  }

  /** `{ total, steps: "bundle=1.2 rootfs=3.4 ..." }` in milliseconds. */
  summary(): { ms: number; steps: string } {
    return { ms: round(performance.now() - this.started), steps: Object.entries(this.steps).map(([k, v]) => `${k}=${v}`).join(' ') };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
