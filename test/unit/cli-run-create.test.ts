import { expect } from 'chai';
import { createBoth } from '../../src/cli/commands/run.js';

/** `ctr-ts run` prepares the snapshot and creates the container record at once; a failure undoes only what was made. */
describe('cli/run createBoth (Snapshots.Prepare and Containers.Create at once)', () => {
  const ok = () => Promise.resolve('made');
  const fail = (what: string) => () => Promise.reject(new Error(`${what} already exists`));

  async function attempt(first: () => Promise<unknown>, second: () => Promise<unknown>) {
    const undone: string[] = [];
    const undo = (what: string) => async () => void undone.push(what);
    try {
      const steps = await createBoth(first, undo('snapshot'), second, undo('container'));
      return { steps, undone, error: undefined as Error | undefined };
    } catch (err) {
      return { steps: [], undone, error: err as Error };
    }
  }

  it('starts both before either answers', async () => {
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const both = createBoth(async () => { started.push('prepare'); await gate; }, ok, async () => { started.push('create'); await gate; }, ok);
    await Promise.resolve();
    expect(started).to.deep.equal(['prepare', 'create']);
    release();
    expect(await both).to.have.length(2);
  });

  it('returns both undo steps in creation order when both succeed, undoing nothing', async () => {
    const r = await attempt(ok, ok);
    expect(r.error).to.equal(undefined);
    expect(r.undone).to.deep.equal([]);
    for (const step of r.steps) await step();
    expect(r.undone).to.deep.equal(['snapshot', 'container']);
  });

  it('undoes the container record when the snapshot fails, and throws the snapshot\'s error', async () => {
    const r = await attempt(fail('snapshot'), ok);
    expect(r.error?.message).to.equal('snapshot already exists');
    expect(r.undone).to.deep.equal(['container']);
  });

  it('undoes the snapshot when the container record fails, and throws the record\'s error', async () => {
    const r = await attempt(ok, fail('container'));
    expect(r.error?.message).to.equal('container already exists');
    expect(r.undone).to.deep.equal(['snapshot']);
  });

  it('undoes nothing when both fail (neither existing object is ours), and throws the snapshot\'s error as before', async () => {
    const r = await attempt(fail('snapshot'), fail('container'));
    expect(r.error?.message).to.equal('snapshot already exists');
    expect(r.undone).to.deep.equal([]);
  });

  it('still throws the creation\'s error when undoing fails', async () => {
    const r = await createBoth(fail('snapshot'), ok, ok, () => Promise.reject(new Error('daemon gone'))).then(() => undefined, (e: Error) => e);
    expect(r?.message).to.equal('snapshot already exists');
  });
});
