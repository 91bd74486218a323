import { expect } from 'chai';
import { isRuntimeError, type ErrorKind } from '../../src/errors.js';
import { CreatedState, type InitActions, type InitState } from '../../src/shim/init-state.js';
import { LineDecoder, type ExitInfo } from '../../src/shim/protocol.js';

const EXIT: ExitInfo = { pid: 42, status: 0, signal: null, exitedAt: new Date(0).toISOString(), oomKilled: false };

/** InitActions that record runtime calls; runtimeStart can be held open to simulate a slow `runc start`. */
class FakeInit implements InitActions {
  readonly id = 'c1';
  readonly calls: string[] = [];
  state: InitState;
  private releaseStart: (() => void) | undefined;
  holdStart = false;

  constructor() {
    this.state = new CreatedState(this);
  }
  runtimeStart(): Promise<void> {
    this.calls.push('start');
    if (!this.holdStart) return Promise.resolve();
    return new Promise((resolve) => (this.releaseStart = resolve));
  }
  async runtimeKill(signal: number, all: boolean) {
    this.calls.push(`kill ${signal}${all ? ' all' : ''}`);
  }
  async runtimeDelete() {
    this.calls.push('delete');
  }
  async runtimeDeleteStopped() {
    this.calls.push('delete stopped');
  }
  async runtimePause() {
    this.calls.push('pause');
  }
  async runtimeResume() {
    this.calls.push('resume');
  }
  transition(next: InitState) {
    this.state = next;
  }
  current() {
    return this.state;
  }
  finishStart() {
    this.releaseStart!();
  }
}

async function rejectsKind(p: Promise<unknown>, kind: ErrorKind): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(isRuntimeError(err, kind), `expected ${kind}, got ${String(err)}`).to.equal(true);
    return err as Error;
  }
  expect.fail(`expected ${kind}`);
}

describe('shim/init-state', () => {
  let p: FakeInit;
  beforeEach(() => {
    p = new FakeInit();
  });

  it('created: start runs the runtime and moves to running', async () => {
    expect(p.state.status).to.equal('created');
    await p.state.start();
    expect(p.state.status).to.equal('running');
    expect(p.calls).to.deep.equal(['start']);
  });

  it('created: kill signals, delete removes and moves to deleted', async () => {
    await p.state.kill(9, true);
    expect(p.state.status).to.equal('created');
    await p.state.delete();
    expect(p.state.status).to.equal('deleted');
    expect(p.calls).to.deep.equal(['kill 9 all', 'delete']);
  });

  it('created: stays created when runc start fails', async () => {
    p.runtimeStart = async () => {
      throw new Error('runc start failed');
    };
    try {
      await p.state.start();
      expect.fail('start succeeded');
    } catch (err) {
      expect((err as Error).message).to.equal('runc start failed');
    }
    expect(p.state.status).to.equal('created');
  });

  it('running: kill works; start and delete fail with FailedPrecondition without touching the runtime', async () => {
    await p.state.start();
    await p.state.kill(15, false);
    expect((await rejectsKind(p.state.start(), 'FailedPrecondition')).message).to.contain('c1');
    expect((await rejectsKind(p.state.delete(), 'FailedPrecondition')).message).to.contain('kill');
    expect(p.state.status).to.equal('running');
    expect(p.calls).to.deep.equal(['start', 'kill 15']);
  });

  it('exited moves created and running to stopped', async () => {
    p.state.exited(EXIT);
    expect(p.state.status).to.equal('stopped');
    const q = new FakeInit();
    await q.state.start();
    q.state.exited(EXIT);
    expect(q.state.status).to.equal('stopped');
  });

  it('stopped: start is FailedPrecondition, kill is NotFound, delete works and moves to deleted', async () => {
    await p.state.start();
    p.state.exited(EXIT);
    await rejectsKind(p.state.start(), 'FailedPrecondition');
    await rejectsKind(p.state.kill(9, false), 'NotFound');
    p.state.exited(EXIT);
    expect(p.state.status).to.equal('stopped');
    await p.state.delete();
    expect(p.state.status).to.equal('deleted');
    expect(p.calls).to.deep.equal(['start', 'delete stopped']);
  });

  it('deleted: rejects start, kill and delete with NotFound and ignores exits', async () => {
    await p.state.delete();
    const deleted = p.state;
    await rejectsKind(deleted.start(), 'NotFound');
    await rejectsKind(deleted.kill(9, false), 'NotFound');
    await rejectsKind(deleted.delete(), 'NotFound');
    deleted.exited(EXIT);
    expect(p.state).to.equal(deleted);
    expect(p.calls).to.deep.equal(['delete']);
  });

  it('race: an exit reported while runc start is still pending leaves the task stopped', async () => {
    p.holdStart = true;
    const starting = p.state.start();
    await new Promise((r) => setImmediate(r));
    expect(p.state.status).to.equal('created');
    p.state.exited(EXIT); // the fast process exits before `runc start` returns
    expect(p.state.status).to.equal('stopped');
    p.finishStart();
    await starting;
    expect(p.state.status).to.equal('stopped');
    await p.state.delete();
    expect(p.state.status).to.equal('deleted');
  });
});

describe('shim/protocol LineDecoder', () => {
  const feed = (chunks: string[]) => {
    const d = new LineDecoder();
    const lines: string[] = [];
    for (const c of chunks) d.push(c, (l) => lines.push(l));
    return lines;
  };

  it('joins a line split across chunks', () => {
    expect(feed(['{"id":1,"me', 'thod":"state"', '}\n'])).to.deep.equal(['{"id":1,"method":"state"}']);
  });

  it('emits nothing until the newline arrives', () => {
    expect(feed(['{"id":1}'])).to.deep.equal([]);
  });

  it('splits several lines in one chunk, keeping the unfinished tail for later', () => {
    expect(feed(['{"a":1}\n{"b":2}\n{"c"', ':3}\n'])).to.deep.equal(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('skips blank and whitespace-only lines', () => {
    expect(feed(['\n\n{"a":1}\n  \n', '\n{"b":2}\n'])).to.deep.equal(['{"a":1}', '{"b":2}']);
  });

  it('keeps multi-byte text intact', () => {
    expect(feed(['{"msg":"caf', 'é ✓"}\n'])).to.deep.equal(['{"msg":"café ✓"}']);
  });
});

describe('init state: pause and resume', () => {
  it('running -> pause -> paused -> resume -> running, through runc', async () => {
    const p = new FakeInit();
    await p.state.start();
    await p.state.pause();
    expect(p.state.status).to.equal('paused');
    await p.state.resume();
    expect(p.state.status).to.equal('running');
    expect(p.calls).to.deep.equal(['start', 'pause', 'resume']);
  });

  it('refuses to pause a paused task, resume a running one, or delete a paused one, and stays where it was', async () => {
    const p = new FakeInit();
    await p.state.start();
    await rejectsKind(p.state.resume(), 'FailedPrecondition');
    await p.state.pause();
    await rejectsKind(p.state.pause(), 'FailedPrecondition');
    await rejectsKind(p.state.delete(), 'FailedPrecondition');
    expect(p.state.status).to.equal('paused');
  });

  it('refuses pause before start and after exit', async () => {
    const p = new FakeInit();
    await rejectsKind(p.state.pause(), 'FailedPrecondition');
    p.state.exited(EXIT);
    await rejectsKind(p.state.pause(), 'FailedPrecondition');
    await rejectsKind(p.state.resume(), 'FailedPrecondition');
    expect(p.calls).to.deep.equal([]);
  });

  it('a paused task that is killed moves to stopped when it exits', async () => {
    const p = new FakeInit();
    await p.state.start();
    await p.state.pause();
    await p.state.kill(9, false);
    p.state.exited(EXIT);
    expect(p.state.status).to.equal('stopped');
  });
});

