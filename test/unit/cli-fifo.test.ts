import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { FifoSet } from '../../src/cli/fifo.js';

/** The CLI's stdio FIFOs: made under the state dir, removed with their directory unless kept. */
describe('cli/fifo FifoSet', () => {
  let state: string;
  beforeEach(() => (state = mkdtempSync(path.join(os.tmpdir(), 'fifo-state-'))));
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  it('makes the FIFOs asked for and removes them with their directory', () => {
    const set = new FifoSet(state, 'c1', { stdin: true });
    for (const f of [set.stdin!, set.stdout!, set.stderr!]) expect(statSync(f).isFIFO()).to.equal(true);
    set.open();
    set.remove();
    expect(existsSync(set.dir)).to.equal(false);
  });

  it('removes the directory even when something else was put in it', () => {
    const set = new FifoSet(state, 'c2', { stderr: false });
    writeFileSync(path.join(set.dir, 'extra'), 'x');
    set.remove();
    expect(existsSync(set.dir)).to.equal(false);
  });

  it('keeps everything when asked (run -d -i: the stdin FIFO is for tasks attach)', () => {
    const set = new FifoSet(state, 'c3', { stdin: true, output: false });
    set.remove(true);
    expect(statSync(set.stdin!).isFIFO()).to.equal(true);
  });

  it('does not fail when the directory is already gone', () => {
    const set = new FifoSet(state, 'c4');
    rmSync(set.dir, { recursive: true });
    expect(() => set.remove()).not.to.throw();
  });
});
