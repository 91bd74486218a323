/**
 * src/systemd against a real systemd 252, D-Bus and machined. Runs inside a
 * systemd box (the project's test script starts one); skipped elsewhere.
 * Everything it creates (processes, scopes, machines) is removed in after().
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { isRuntimeError } from '../../src/errors.js';
import { SystemBus } from '../../src/systemd/bus.js';
import { detectCgroupLayout, readCgroupLimits, readOomKills } from '../../src/systemd/cgroupfs.js';
import { createMachined, type Machined } from '../../src/systemd/machined.js';
import { unitProperty } from '../../src/systemd/properties.js';
import { createSystemd, type Systemd } from '../../src/systemd/systemd.js';
import { scopeUnitName } from '../../src/systemd/units.js';

const IN_SYSTEMD = existsSync('/run/systemd/system');
const MiB = 1024n * 1024n;

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('could not spawn sleep');
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** Scope properties like the ones runc sets, plus the limits under test. */
function runcLike(id: string) {
  return [
    unitProperty.slice('system.slice'),
    unitProperty.description(`containerd-ts systemd integration test ${id}`),
    unitProperty.delegate(true),
    unitProperty.memoryAccounting(true),
    unitProperty.cpuAccounting(true),
    unitProperty.tasksAccounting(true),
    unitProperty.defaultDependencies(false),
  ];
}

describe('systemd integration (systemd 252 in a box)', function () {
  this.timeout(60_000);
  const id = `sdit-${process.pid}-${Date.now().toString(36)}`;
  const unit = scopeUnitName(id);
  const id2 = `${id}-k`;
  const unit2 = scopeUnitName(id2);
  const unit3 = scopeUnitName(`${id}-r`);
  const children: ChildProcess[] = [];
  let bus: SystemBus;
  let systemd: Systemd;
  let machined: Machined;
  let sleep: ChildProcess;
  let controlGroup = '';

  before(function () {
    if (!IN_SYSTEMD) {
      console.log('    (skipped: /run/systemd/system does not exist; these tests need systemd as PID 1, run them in the systemd box)');
      this.skip();
    }
    bus = new SystemBus({ timeoutMs: 30_000 });
    systemd = createSystemd({ bus });
    machined = createMachined({ bus });
    sleep = sleeper();
    children.push(sleep);
  });

  after(async function () {
    if (!IN_SYSTEMD) return;
    for (const c of children) c.kill('SIGKILL');
    await machined.terminateMachine(id).catch(() => undefined);
    for (const u of [unit, unit2, unit3]) {
      await systemd.stopUnit(u, { timeoutMs: 10_000 }).catch(() => undefined);
      await systemd.resetFailedUnit(u).catch(() => undefined);
    }
    bus.close();
  });

  it('starts a transient scope holding a process, with limits', async () => {
    const props = [
      ...runcLike(id),
      unitProperty.memoryMax(64n * MiB),
      unitProperty.tasksMax(20),
      unitProperty.cpuQuotaPerSecUSec(500_000),
    ];
    await systemd.startTransientScope(unit, [sleep.pid!], props);
    const state = await systemd.unitState(unit);
    expect(state).to.deep.equal({ activeState: 'active', subState: 'running', loadState: 'loaded' });
  });

  it('refuses a second scope with the same name (AlreadyExists)', async () => {
    const other = sleeper();
    children.push(other);
    const err = await systemd.startTransientScope(unit, [other.pid!], runcLike(id)).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'AlreadyExists'), String(err)).to.equal(true);
    other.kill('SIGKILL');
  });

  it('getUnitByPid names the scope', async () => {
    expect(await systemd.getUnitByPid(sleep.pid!)).to.equal(unit);
  });

  it('listUnitsByPattern finds it', async () => {
    const units = await systemd.listUnitsByPattern(`containerd-${id}*`);
    expect(units.map((u) => u.name)).to.include(unit);
    const row = units.find((u) => u.name === unit)!;
    expect(row.activeState).to.equal('active');
  });

  it('readScopeProperties reads back the limits and counters', async () => {
    const p = await systemd.readScopeProperties(unit);
    controlGroup = p.controlGroup;
    console.log(`      scope properties: ${JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    expect(p.memoryMax).to.equal(64n * MiB);
    expect(p.tasksMax).to.equal(20n);
    expect(p.cpuQuotaPerSecUSec).to.equal(500_000n);
    expect(p.controlGroup).to.equal(`/system.slice/${unit}`);
    expect(p.activeState).to.equal('active');
    expect(p.tasksCurrent).to.equal(1n);
    expect(p.memoryCurrent).to.be.a('bigint');
    // v1 box (cpu and cpuacct mounted apart): systemd reports CPUUsageNSec as unset
    if (p.cpuUsageNSec !== null) expect(p.cpuUsageNSec).to.be.a('bigint');
  });

  it('the cgroup files agree with the unit properties', async () => {
    expect(controlGroup).to.equal(`/system.slice/${unit}`);
    console.log(`      cgroup layout: ${detectCgroupLayout()}`);
    const limits = readCgroupLimits(controlGroup);
    expect(limits).to.deep.equal({ memoryMax: 64n * MiB, cpuQuotaUs: 50_000n, cpuPeriodUs: 100_000n, pidsMax: 20n });
    expect(readOomKills(controlGroup)).to.equal(0);
  });

  it('setUnitProperties(runtime) changes the limit and the cgroup', async () => {
    await systemd.setUnitProperties(unit, true, [unitProperty.memoryMax(128n * MiB), unitProperty.tasksMax(30)]);
    const p = await systemd.readScopeProperties(unit);
    expect(p.memoryMax).to.equal(128n * MiB);
    expect(p.tasksMax).to.equal(30n);
    const limits = readCgroupLimits(controlGroup);
    expect(limits.memoryMax).to.equal(128n * MiB);
    expect(limits.pidsMax).to.equal(30n);
  });

  it('registers the machine, which adopts the scope', async () => {
    const path = await machined.registerMachine({ name: id, leaderPid: sleep.pid!, service: 'containerd-ts', class: 'container', rootDirectory: '/' });
    expect(path).to.match(/^\/org\/freedesktop\/machine1\/machine\//);
    const m = await machined.getMachine(id);
    expect(m).to.include({ name: id, unit, leader: sleep.pid!, class: 'container', service: 'containerd-ts', rootDirectory: '/' });
    expect(m!.state).to.be.oneOf(['opening', 'running']);
    expect((await machined.listMachines()).map((x) => x.name)).to.include(id);
    const { stdout } = await execa('machinectl', ['list', '--no-legend', '--no-pager']);
    expect(stdout).to.contain(id);
    // the process stayed where it was (RegisterMachine does not move it)
    expect(await systemd.getUnitByPid(sleep.pid!)).to.equal(unit);
  });

  it('a second registration of the same name is AlreadyExists; a bad name is refused before the bus', async () => {
    const dup = await machined.registerMachine({ name: id, leaderPid: sleep.pid! }).catch((e: unknown) => e);
    expect(isRuntimeError(dup, 'AlreadyExists'), String(dup)).to.equal(true);
    const bad = await machined.registerMachine({ name: 'bad_name', leaderPid: sleep.pid! }).catch((e: unknown) => e);
    expect(isRuntimeError(bad, 'InvalidArgument'), String(bad)).to.equal(true);
  });

  it('terminateMachine unregisters it (and machined stops the scope)', async () => {
    expect(await machined.terminateMachine(id)).to.equal(true);
    await until('machine gone', async () => (await machined.getMachine(id)) === null);
    expect(await machined.terminateMachine(id)).to.equal(false);
    await until('sleep killed', async () => sleep.exitCode !== null || sleep.signalCode !== null);
    console.log(`      after TerminateMachine: sleep ${sleep.signalCode ?? sleep.exitCode}, unit ${JSON.stringify(await systemd.unitState(unit))}`);
  });

  it('missing units: resetFailedUnit is a no-op, unitState null, reads NotFound', async () => {
    const missing = scopeUnitName(`${id}-missing`);
    await systemd.resetFailedUnit(missing);
    expect(await systemd.unitState(missing)).to.equal(null);
    const err = await systemd.readScopeProperties(missing).catch((e: unknown) => e);
    expect(isRuntimeError(err, 'NotFound'), String(err)).to.equal(true);
    expect(await systemd.stopUnit(missing)).to.equal(false);
    expect(await machined.getMachine(`${id}-missing`)).to.equal(null);
  });

  it('stopUnit leaves no unit', async () => {
    await systemd.stopUnit(unit);
    expect(await systemd.unitState(unit)).to.equal(null);
    await exited(sleep);
  });

  it('killUnit signals the processes; stopUnit then removes the scope', async () => {
    const s2 = sleeper();
    children.push(s2);
    await systemd.startTransientScope(unit2, [s2.pid!], [...runcLike(id2), unitProperty.memoryMax(64n * MiB)]);
    expect(await systemd.getUnitByPid(s2.pid!)).to.equal(unit2);
    await systemd.killUnit(unit2, 'all', 'SIGKILL');
    await exited(s2);
    expect(s2.signalCode).to.equal('SIGKILL');
    await systemd.stopUnit(unit2);
    expect(await systemd.unitState(unit2)).to.equal(null);
  });

  it('survives a D-Bus restart (next call reconnects)', async function () {
    if (process.env['CONTAINERD_TS_TEST_DBUS_RESTART'] === '0') this.skip();
    expect(await systemd.unitState('dbus.service')).to.include({ activeState: 'active' });
    await execa('systemctl', ['restart', 'dbus.service']);
    const state = await until('bus back', () => systemd.unitState('dbus.service').catch(() => null), 10_000);
    expect(state.activeState).to.equal('active');
    // signals work again too: a job waits for JobRemoved on the new connection
    const s3 = sleeper();
    children.push(s3);
    const u3 = unit3;
    await systemd.startTransientScope(u3, [s3.pid!], runcLike(`${id}-r`));
    await systemd.stopUnit(u3);
    expect(await systemd.unitState(u3)).to.equal(null);
  });
});
