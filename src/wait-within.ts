/**
 * Waits for `work` or for `limitMs`, whichever comes first (a rejection of
 * `work` still rejects), and clears the timer: for work a caller waits for
 * only so long and then goes on without.
 */
export async function waitWithin(work: Promise<unknown>, limitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)))]);
  } finally {
    clearTimeout(timer);
  }
}
