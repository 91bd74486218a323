import { expect } from 'chai';
import { createLogger } from '../../src/daemon/logger.js';
import { RuntimeError } from '../../src/errors.js';
import { ShimsScope, SHIMS_SCOPE } from '../../src/daemon/tasks/shim-scope.js';
import { killStrayShims } from '../../src/daemon/tasks/stray-shims.js';
import type { Systemd, UnitProcess } from '../../src/systemd/systemd.js';

/**
 * A systemd that knows one scope (or none) and answers AttachProcessesToUnit
 * and StartTransientUnit as systemd 252 does: NoSuchUnit, UnitInactive,
 * UnitExists. Records the calls.
 */
function fakeSystemd(initial: 'none' | 'active' | 'stopping') {
  let scope = initial;
  const calls: string[] = [];
  const members: number[] = [];
  const unsupported = () => Promise.reject(new Error('not in this fake'));
  const systemd: Systemd = {
    attachProcesses: async (name, pids) => {
      calls.push(`attach ${name} ${pids.join(',')}`);
      if (scope === 'none') throw new RuntimeError('NotFound', `Unit ${name} not loaded.`);
      if (scope === 'stopping') throw new RuntimeError('FailedPrecondition', `Unit '${name}' is not active.`);
      members.push(...pids);
    },
    startTransientScope: async (name, pids) => {
      calls.push(`start ${name} ${pids.join(',')}`);
      if (scope === 'stopping') {
        scope = 'none'; // collected by the time anyone asks again
        throw new RuntimeError('AlreadyExists', `Unit ${name} already exists.`);
      }
      if (scope === 'active') throw new RuntimeError('AlreadyExists', `Unit ${name} already exists.`);
      scope = 'active';
      members.push(...pids);
    },
    unitProcesses: unsupported, getUnitByPid: unsupported, resetFailedUnit: unsupported, unitState: unsupported,
    readScopeProperties: unsupported, setUnitProperties: unsupported, stopUnit: unsupported, killUnit: unsupported,
    listUnitsByPattern: unsupported, close: () => undefined,
  };
  return { systemd, calls, members };
}

describe('daemon/tasks the shims\' shared scope', () => {
  it('attaches a shim to the scope when it runs: no job, no new unit', async () => {
    const { systemd, calls, members } = fakeSystemd('active');
    await new ShimsScope(systemd, 'system.slice').place(101);
    expect(calls).to.deep.equal([`attach ${SHIMS_SCOPE} 101`]);
    expect(members).to.deep.equal([101]);
  });

  it('creates the scope with the first shim, and attaches the next ones even when both ask at once', async () => {
    const { systemd, calls, members } = fakeSystemd('none');
    const scope = new ShimsScope(systemd, 'system.slice');
    await Promise.all([scope.place(201), scope.place(202)]);
    expect(calls).to.deep.equal([`attach ${SHIMS_SCOPE} 201`, `start ${SHIMS_SCOPE} 201`, `attach ${SHIMS_SCOPE} 202`]);
    expect(members).to.deep.equal([201, 202]);
  });

  it('waits out a scope that is being collected (its last shim left) and starts it again', async () => {
    const { systemd, calls, members } = fakeSystemd('stopping');
    await new ShimsScope(systemd, 'system.slice').place(301);
    expect(calls).to.deep.equal([`attach ${SHIMS_SCOPE} 301`, `start ${SHIMS_SCOPE} 301`, `attach ${SHIMS_SCOPE} 301`, `start ${SHIMS_SCOPE} 301`]);
    expect(members).to.deep.equal([301]);
  });

  it('passes on what it cannot handle (systemd refusing, the bus down), and the next placement still runs', async () => {
    const { systemd } = fakeSystemd('active');
    const scope = new ShimsScope(systemd, 'system.slice');
    systemd.attachProcesses = () => Promise.reject(new RuntimeError('Unavailable', 'system bus unavailable'));
    const err = await scope.place(401).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RuntimeError).with.property('kind', 'Unavailable');
    systemd.attachProcesses = async () => undefined;
    await scope.place(402);
  });
});

describe('daemon/tasks stray shims at start-up', () => {
  const log = createLogger('silent');
  const procs = (rows: Array<[number, string]>): UnitProcess[] => rows.map(([pid]) => ({ pid, cgroup: `/system.slice/${SHIMS_SCOPE}`, cmdline: 'containerd-ts-shim x' }));

  it('kills the shims whose bundle no recovered task owns, and leaves owned, standby and vanished ones alone', async () => {
    const cwd: Record<number, string> = {
      1: '/run/containerd-ts/tasks/default/kept', // a recovered task's shim
      2: '/run/containerd-ts/groups/default/g', // a recovered group's shim
      3: '/', // a standby
      4: '/run/containerd-ts/tasks/default/lost (deleted)', // its bundle was removed
      5: '/run/containerd-ts/tasks/other/no-record', // no task record: not recovered
      6: '', // exited meanwhile
    };
    const { systemd } = fakeSystemd('active');
    systemd.unitProcesses = async () => procs(Object.keys(cwd).map((p) => [Number(p), '']));
    const killed: number[] = [];
    const r = await killStrayShims(
      { systemd, log, cwdOf: (pid) => cwd[pid] ?? '', kill: (pid) => void killed.push(pid) },
      new Set(['/run/containerd-ts/tasks/default/kept', '/run/containerd-ts/groups/default/g']),
    );
    expect(r).to.deep.equal([4, 5]);
    expect(killed).to.deep.equal([4, 5]);
  });

  it('does nothing when the scope does not exist or systemd cannot say', async () => {
    const { systemd } = fakeSystemd('none');
    systemd.unitProcesses = () => Promise.reject(new RuntimeError('NotFound', 'Unit containerd-ts-shims.scope not loaded.'));
    const killed: number[] = [];
    expect(await killStrayShims({ systemd, log, kill: (pid) => void killed.push(pid) }, new Set())).to.deep.equal([]);
    expect(killed).to.deep.equal([]);
  });
});
