import { RuntimeError } from '../../src/errors.js';

/** The RuntimeError `p` rejects with; anything else (another error, or no rejection) fails the test. */
export async function rejection(p: Promise<unknown>): Promise<RuntimeError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RuntimeError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}
