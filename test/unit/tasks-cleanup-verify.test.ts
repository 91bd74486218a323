import { expect } from 'chai';
import { isRuntimeError, notFound } from '../../src/errors.js';
import { CleanupStack } from '../../src/daemon/tasks/cleanup.js';
import { verifyScope } from '../../src/daemon/tasks/verify-scope.js';
import type { ScopeProperties, Systemd } from '../../src/systemd/systemd.js';

describe('daemon/tasks CleanupStack', () => {
  it('undoes newest first, awaiting async steps', async () => {
    const order: string[] = [];
    const s = new CleanupStack();
    s.push('bundle', () => order.push('bundle'));
    s.push('shim', async () => {
      await new Promise((r) => setTimeout(r, 10));
      order.push('shim');
    });
    s.push('scope', () => order.push('scope'));
    await s.run(() => expect.fail('no step fails'));
    expect(order).to.deep.equal(['scope', 'shim', 'bundle']);
  });

  it('keeps going after a failing step and reports it by name', async () => {
    const order: string[] = [];
    const errors: Array<[string, unknown]> = [];
    const boom = new Error('umount: busy');
    const s = new CleanupStack();
    s.push('first', () => order.push('first'));
    s.push('mounts', () => {
      throw boom;
    });
    s.push('async', () => Promise.reject(new Error('rejected')));
    s.push('last', () => order.push('last'));
    await s.run((what, err) => errors.push([what, err]));
    expect(order).to.deep.equal(['last', 'first']);
    expect(errors.map(([w]) => w)).to.deep.equal(['async', 'mounts']);
    expect(errors[1]![1]).to.equal(boom);
  });

  it('runs each step once: a second run does nothing', async () => {
    let n = 0;
    const s = new CleanupStack();
    s.push('x', () => n++);
    await s.run(() => undefined);
    await s.run(() => undefined);
    expect(n).to.equal(1);
  });
});

/** A Systemd whose only working calls are the two verifyScope needs. */
function fakeSystemd(unit: string, props: Partial<ScopeProperties>): Systemd & { scopesRead: string[] } {
  const nope = () => {
    throw new Error('not used by verifyScope');
  };
  const scopesRead: string[] = [];
  return {
    scopesRead,
    getUnitByPid: async () => unit,
    readScopeProperties: async (name: string) => {
      scopesRead.push(name);
      if (name !== unit) throw notFound(`unit ${name} not loaded`);
      return {
        memoryMax: null,
        memoryLimit: null,
        cpuQuotaPerSecUSec: null,
        tasksMax: null,
        memoryCurrent: 0n,
        tasksCurrent: 1n,
        cpuUsageNSec: 0n,
        ioReadBytes: null,
        ioWriteBytes: null,
        controlGroup: `/system.slice/${unit}`,
        activeState: 'active',
        ...props,
      };
    },
    resetFailedUnit: nope,
    unitState: nope,
    setUnitProperties: nope,
    stopUnit: nope,
    killUnit: nope,
    startTransientScope: nope,
    attachProcesses: nope,
    unitProcesses: nope,
    listUnitsByPattern: nope,
    close: nope,
  };
}

async function failedPrecondition(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(isRuntimeError(err, 'FailedPrecondition'), String(err)).to.equal(true);
    return err as Error;
  }
  expect.fail('expected FailedPrecondition');
}

describe('daemon/tasks verifyScope', () => {
  const SCOPE = 'containerd-c1.scope';
  const limits = { memoryBytes: 64 << 20, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: 20 };
  const matching = { memoryMax: BigInt(64 << 20), cpuQuotaPerSecUSec: 500_000n, tasksMax: 20n };

  it('passes when init is in the scope and the limits read back as asked', async () => {
    const sd = fakeSystemd(SCOPE, matching);
    await verifyScope(sd, 1234, SCOPE, limits);
    expect(sd.scopesRead).to.deep.equal([SCOPE]);
  });

  it('passes with no limits asked, whatever the scope carries', async () => {
    await verifyScope(fakeSystemd(SCOPE, {}), 1234, SCOPE, {});
  });

  it('compares the CPU quota the way runc rounds it (up to 10ms per second)', async () => {
    // 12345us per 100ms = 123450us/s -> runc asks systemd for 130000us/s.
    await verifyScope(fakeSystemd(SCOPE, { cpuQuotaPerSecUSec: 130_000n }), 1, SCOPE, { cpuQuotaUs: 12_345 });
    await failedPrecondition(verifyScope(fakeSystemd(SCOPE, { cpuQuotaPerSecUSec: 123_450n }), 1, SCOPE, { cpuQuotaUs: 12_345 }));
  });

  it('fails when init landed in another unit, naming both units and the pid', async () => {
    const err = await failedPrecondition(verifyScope(fakeSystemd('containerd-ts.service', matching), 4321, SCOPE, limits));
    expect(err.message).to.contain('containerd-ts.service').and.to.contain(SCOPE).and.to.contain('4321');
  });

  it('fails listing every limit that differs', async () => {
    const sd = fakeSystemd(SCOPE, { memoryMax: BigInt(32 << 20), cpuQuotaPerSecUSec: 1_000_000n, tasksMax: 20n });
    const err = await failedPrecondition(verifyScope(sd, 1, SCOPE, limits));
    expect(err.message).to.contain(SCOPE);
    expect(err.message).to.contain(`MemoryMax=${32 << 20}`).and.to.contain(`asked for ${64 << 20}`);
    expect(err.message).to.contain('CPUQuotaPerSecUSec=1000000').and.to.contain('asked for 500000');
    expect(err.message).not.to.contain('TasksMax');
  });

  it('fails on a TasksMax mismatch alone', async () => {
    const err = await failedPrecondition(verifyScope(fakeSystemd(SCOPE, { ...matching, tasksMax: 4915n }), 1, SCOPE, limits));
    expect(err.message).to.contain('TasksMax=4915').and.to.contain('asked for 20');
  });

  it('fails when a limit was asked but the scope has none (infinity)', async () => {
    const err = await failedPrecondition(verifyScope(fakeSystemd(SCOPE, { ...matching, memoryMax: null }), 1, SCOPE, limits));
    expect(err.message).to.contain('MemoryMax=infinity');
  });
});
