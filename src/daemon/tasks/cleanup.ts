/**
 * Undo steps collected while a multi-step operation runs; on failure they
 * run newest first, so whatever a failed create made is taken apart again.
 * A failing undo step is reported and does not stop the others.
 */
export class CleanupStack {
  private readonly steps: Array<{ what: string; undo: () => Promise<unknown> | unknown }> = [];

  push(what: string, undo: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, undo });
  }

  async run(onError: (what: string, err: unknown) => void): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (err) {
        onError(step.what, err);
      }
    }
  }
}

/**
 * Awaits steps that run side by side and push their own undo steps: every
 * one settles before the first failure is thrown, so none is still adding
 * to the stack while it unwinds.
 */
export async function allOrFirstFailure<T extends readonly unknown[]>(steps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const outcomes = await Promise.allSettled(steps);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  return outcomes.map((o) => (o as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
