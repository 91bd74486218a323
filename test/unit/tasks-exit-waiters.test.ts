import { expect } from 'chai';
import { unavailable } from '../../src/errors.js';
import { ExitWaiters } from '../../src/daemon/tasks/exit-waiters.js';
import type { Task } from '../../src/daemon/tasks/task.js';
import type { ShimConnection } from '../../src/shim/client.js';
import type { ExitInfo } from '../../src/shim/protocol.js';

/** A shim connection whose answer to `wait` the test gives (or never gives). */
function fakeShim(): { shim: ShimConnection; answerWait: (exit: ExitInfo) => void; failWait: (err: Error) => void; waitCalls: () => number } {
  const pending: Array<{ resolve: (v: ExitInfo) => void; reject: (e: Error) => void }> = [];
  const shim = {
    call: (method: string) => {
      if (method !== 'wait') throw new Error(`unexpected call ${method}`);
      return new Promise<ExitInfo>((resolve, reject) => pending.push({ resolve, reject }));
    },
    onExit: () => () => {},
    onExecExit: () => {},
    onLost: () => {},
    close: () => {},
  } as unknown as ShimConnection;
  return {
    shim,
    answerWait: (exit) => pending.splice(0).forEach((p) => p.resolve(exit)),
    failWait: (err) => pending.splice(0).forEach((p) => p.reject(err)),
    waitCalls: () => pending.length,
  };
}

function task(shim: ShimConnection): Task {
  return { namespace: 'default', id: 't1', pid: 42, bundle: '/run/x', scope: 'containerd-t1.scope', shim, stdio: {}, runtime: 'runc' };
}

const exit = (status: number): ExitInfo => ({ pid: 42, status, signal: null, exitedAt: '2026-11-23T05:00:00.000Z', oomKilled: false });

/** How a pending promise stands after the queued callbacks ran. */
async function settled<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown } | 'pending'> {
  const marker = Symbol('pending');
  const r = await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), new Promise((r) => setImmediate(() => r(marker)))]);
  return r === marker ? 'pending' : (r as { value?: T; error?: unknown });
}

describe('daemon/tasks ExitWaiters', () => {
  it('answers a wait with the exit event while the shim has not answered its wait call', async () => {
    const { shim, waitCalls } = fakeShim();
    const waiters = new ExitWaiters();
    const t = task(shim);
    const first = waiters.wait(t);
    const second = waiters.wait(t);
    expect(await settled(first)).to.equal('pending');
    expect(waitCalls()).to.equal(2);
    waiters.exited(t, exit(3));
    expect(await settled(first)).to.deep.equal({ value: exit(3) });
    expect(await settled(second)).to.deep.equal({ value: exit(3) });
  });

  it("answers with the shim's answer when no exit event comes (one missed across a reconnect)", async () => {
    const { shim, answerWait } = fakeShim();
    const waiters = new ExitWaiters();
    const w = waiters.wait(task(shim));
    answerWait(exit(7));
    expect(await settled(w)).to.deep.equal({ value: exit(7) });
  });

  it('answers at once, without asking the shim, once the exit is known', async () => {
    const { shim, waitCalls } = fakeShim();
    const t = { ...task(shim), exit: exit(0) };
    expect(await settled(new ExitWaiters().wait(t))).to.deep.equal({ value: exit(0) });
    expect(waitCalls()).to.equal(0);
  });

  it("fails a wait whose shim connection fails first, as before (the lost shim's exit is then recorded separately)", async () => {
    const { shim, failWait } = fakeShim();
    const w = new ExitWaiters().wait(task(shim));
    failWait(unavailable('connection to shim in /run/x closed'));
    const r = await settled(w);
    expect(r).to.not.equal('pending');
    expect((r as { error: Error }).error.message).to.match(/connection to shim/);
  });

  it('keeps the waits of one task apart from another\'s', async () => {
    const a = fakeShim();
    const b = fakeShim();
    const waiters = new ExitWaiters();
    const ta = task(a.shim);
    const tb = { ...task(b.shim), id: 't2' };
    const wa = waiters.wait(ta);
    const wb = waiters.wait(tb);
    waiters.exited(ta, exit(1));
    expect(await settled(wa)).to.deep.equal({ value: exit(1) });
    expect(await settled(wb)).to.equal('pending');
  });
});
