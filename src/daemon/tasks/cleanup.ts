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
