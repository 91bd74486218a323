import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../src/daemon/logger.js';
import { cleanStrayUnits } from '../../src/daemon/tasks/stray-units.js';
import { followKill, killScopeAsLastResort } from '../../src/daemon/tasks/kill-scope.js';
import type { Task } from '../../src/daemon/tasks/task.js';
import type { Machined, MachineInfo } from '../../src/systemd/machined.js';
import type { Systemd, UnitInfo, UnitState } from '../../src/systemd/systemd.js';

/** A systemd with a set of loaded units; records stops and kills. Only what these modules call works. */
function fakeSystemd(units: Record<string, string>) {
  const calls: string[] = [];
  const unsupported = () => Promise.reject(new Error('not in this fake'));
  const row = (name: string, activeState: string): UnitInfo => ({
    name, description: '', loadState: 'loaded', activeState, subState: '', following: '', path: '', jobId: 0, jobType: '', jobPath: '',
  });
  const systemd: Systemd = {
    listUnitsByPattern: async () => Object.entries(units).map(([n, s]) => row(n, s)),
    unitState: async (name): Promise<UnitState | null> => (units[name] ? { activeState: units[name]!, subState: '', loadState: 'loaded' } : null),
    stopUnit: async (name) => {
      calls.push(`stop ${name}`);
      delete units[name];
      return true;
    },
    killUnit: async (name, whom, signal) => {
      calls.push(`kill ${name} ${whom} ${String(signal)}`);
    },
    getUnitByPid: unsupported, resetFailedUnit: unsupported, readScopeProperties: unsupported, setUnitProperties: unsupported,
    startTransientScope: unsupported, attachProcesses: unsupported, unitProcesses: unsupported, close: () => undefined,
  };
  return { systemd, calls };
}

function fakeMachined(machines: Record<string, Partial<MachineInfo>>, calls: string[]): Machined {
  return {
    getMachine: async (name) => (machines[name] ? (machines[name] as MachineInfo) : null),
    terminateMachine: async (name) => {
      calls.push(`terminate ${name}`);
      return true;
    },
    registerMachine: () => Promise.reject(new Error('no')),
    listMachines: async () => [],
    close: () => undefined,
  };
}

const log = createLogger('silent');

describe('daemon/tasks stray units at start-up', () => {
  let state = '';
  beforeEach(() => (state = mkdtempSync('/var/tmp/stray-')));
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  it('stops what is provably ours, reports the rest, leaves owned and inactive units alone', async () => {
    const { systemd, calls } = fakeSystemd({
      'containerd-owned.scope': 'active',
      'containerd-ts-shim-default-owned.scope': 'active',
      'containerd-machine.scope': 'active', // registered with machined by us
      'containerd-runc.scope': 'active', // runc state under our root
      'containerd-theirs.scope': 'active', // e.g. containerd's own, or systemd-run by hand
      'containerd-foreign-machine.scope': 'active', // a machine, but another service's
      'containerd-ts-shim-default-gone.scope': 'active',
      'containerd-old.scope': 'inactive',
    });
    mkdirSync(path.join(state, 'runc', 'ns2', 'runc'), { recursive: true });
    const deleted: string[] = [];
    const machined = fakeMachined({
      machine: { unit: 'containerd-machine.scope', service: 'containerd-ts' },
      'foreign-machine': { unit: 'containerd-foreign-machine.scope', service: 'nspawn' },
    }, calls);
    const r = await cleanStrayUnits(
      { systemd, machined, log, stateDir: state, runcDelete: async (ns, id) => void deleted.push(`${ns}/${id}`) },
      new Set(['containerd-owned.scope', 'containerd-ts-shim-default-owned.scope']),
    );
    expect(r.stopped).to.deep.equal(['containerd-machine.scope', 'containerd-runc.scope', 'containerd-ts-shim-default-gone.scope']);
    expect(r.reported).to.deep.equal(['containerd-theirs.scope', 'containerd-foreign-machine.scope']);
    expect(deleted).to.deep.equal(['ns2/runc']);
    expect(calls).to.deep.equal([
      'terminate machine', 'stop containerd-machine.scope', 'stop containerd-runc.scope',
      'kill containerd-ts-shim-default-gone.scope all SIGKILL', 'stop containerd-ts-shim-default-gone.scope',
    ]);
  });

  it('reports a stray it cannot stop and carries on', async () => {
    const { systemd } = fakeSystemd({ 'containerd-ts-shim-a-x.scope': 'active', 'containerd-ts-shim-a-y.scope': 'active' });
    systemd.stopUnit = async (name) => {
      if (name.endsWith('x.scope')) throw new Error('job failed');
      return true;
    };
    const r = await cleanStrayUnits({ systemd, machined: fakeMachined({}, []), log, stateDir: state, runcDelete: async () => undefined }, new Set());
    expect(r).to.deep.equal({ stopped: ['containerd-ts-shim-a-y.scope'], reported: ['containerd-ts-shim-a-x.scope'] });
  });

  it('does nothing when systemd cannot list units', async () => {
    const { systemd } = fakeSystemd({});
    systemd.listUnitsByPattern = () => Promise.reject(new Error('bus down'));
    const r = await cleanStrayUnits({ systemd, machined: fakeMachined({}, []), log, stateDir: state, runcDelete: async () => undefined }, new Set());
    expect(r).to.deep.equal({ stopped: [], reported: [] });
  });
});

describe('daemon/tasks KillUnit as the last resort', () => {
  const task = { namespace: 'default', id: 'c', scope: 'containerd-c.scope' } as Task;

  it('kills every process of a live task\'s scope through systemd', async () => {
    const { systemd, calls } = fakeSystemd({ 'containerd-c.scope': 'active' });
    expect(await killScopeAsLastResort({ systemd, log, isLive: () => true }, task, 'runc: container does not exist')).to.equal(true);
    expect(calls).to.deep.equal(['kill containerd-c.scope all SIGKILL']);
  });

  it('does nothing for a task that exited or whose scope is gone (the caller\'s error stands)', async () => {
    const { systemd, calls } = fakeSystemd({ 'containerd-c.scope': 'active' });
    expect(await killScopeAsLastResort({ systemd, log, isLive: () => false }, task, 'x')).to.equal(false);
    const gone = fakeSystemd({});
    expect(await killScopeAsLastResort({ systemd: gone.systemd, log, isLive: () => true }, task, 'x')).to.equal(false);
    expect([...calls, ...gone.calls]).to.deep.equal([]);
  });

  it('after a SIGKILL, kills the scope only if the task is still live when the grace period ends', async () => {
    const { systemd, calls } = fakeSystemd({ 'containerd-c.scope': 'active' });
    let live = true;
    followKill({ systemd, log, isLive: () => live }, task, 20);
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).to.deep.equal(['kill containerd-c.scope all SIGKILL']);
    live = false;
    followKill({ systemd, log, isLive: () => live }, task, 20);
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).to.have.length(1);
  });
});
