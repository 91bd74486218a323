import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { isRuntimeError } from '../../src/errors.js';
import { cgroupDirsToRemove, deleteStoppedDirectly, startThroughExecFifo } from '../../src/shim/runc-direct.js';
import { makeFifo } from '../../src/shim/native.js';

/** A stand-in for runc init: opens the FIFO for writing (blocking), writes `bytes`, holds it `holdMs`, exits. */
function fakeInit(fifo: string, bytes: string, holdMs = 0): Promise<void> {
  const script = `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(fifo)},'w');` +
    `${bytes ? `fs.writeSync(fd,${JSON.stringify(bytes)});` : ''}setTimeout(()=>fs.closeSync(fd),${holdMs});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  expect.fail('expected a rejection');
}

describe('shim/runc-direct', () => {
  let dir: string;
  let stateDir: string;
  let fifo: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'runc-direct-'));
    stateDir = path.join(dir, 'state');
    mkdirSync(stateDir);
    fifo = path.join(stateDir, 'exec.fifo');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('startThroughExecFifo', () => {
    it('reads init\'s byte, waits for the exec (EOF) and removes the FIFO, as runc start does', async () => {
      makeFifo(fifo, 0o600);
      const init = fakeInit(fifo, '0', 150);
      const started = Date.now();
      expect(await startThroughExecFifo(stateDir, init)).to.equal(true);
      expect(Date.now() - started).to.be.at.least(100); // not before the writer closed
      expect(existsSync(fifo)).to.equal(false);
    });

    it('starts an init that wrote its byte and exited before anyone read (a very fast process)', async () => {
      makeFifo(fifo, 0o600);
      // Opened for reading first by a holder, so the writer can finish and exit on its own.
      const holder = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(fifo)},'r');setTimeout(()=>{},2000)`], { stdio: 'ignore' });
      try {
        const init = fakeInit(fifo, '0');
        await init;
        expect(await startThroughExecFifo(stateDir, init)).to.equal(true);
      } finally {
        holder.kill('SIGKILL');
      }
    });

    it('fails with "already dead" when init exits without ever opening the FIFO, and keeps it', async () => {
      makeFifo(fifo, 0o600);
      const err = await rejection(startThroughExecFifo(stateDir, new Promise((r) => setTimeout(r, 50))));
      expect(isRuntimeError(err, 'FailedPrecondition')).to.equal(true);
      expect(err.message).to.contain('already dead');
      expect(existsSync(fifo)).to.equal(true);
    });

    it('fails when the FIFO closes without a byte (nothing was waiting to start)', async () => {
      makeFifo(fifo, 0o600);
      const never = new Promise(() => {});
      const failed = rejection(startThroughExecFifo(stateDir, never));
      await fakeInit(fifo, '');
      const err = await failed;
      expect(err.message).to.contain('already running');
    });

    it('returns false (use runc start) without an exec FIFO, or when it is not a FIFO', async () => {
      expect(await startThroughExecFifo(stateDir, new Promise(() => {}))).to.equal(false);
      writeFileSync(fifo, '0');
      expect(await startThroughExecFifo(stateDir, new Promise(() => {}))).to.equal(false);
    });
  });

  describe('cgroupDirsToRemove', () => {
    // cgroup_paths of runc 1.1.5's state.json for a container in the systemd box (hybrid v1 layout).
    const hybrid = {
      '': '/sys/fs/cgroup/unified/system.slice/containerd-c1.scope',
      blkio: '/sys/fs/cgroup/blkio/system.slice/containerd-c1.scope',
      cpu: '/sys/fs/cgroup/cpu/system.slice/containerd-c1.scope',
      cpuset: '/sys/fs/cgroup/cpuset/system.slice/containerd-c1.scope',
      freezer: '/sys/fs/cgroup/freezer/system.slice/containerd-c1.scope',
      memory: '/sys/fs/cgroup/memory/system.slice/containerd-c1.scope',
      'name=systemd': '/sys/fs/cgroup/systemd/system.slice/containerd-c1.scope',
      pids: '/sys/fs/cgroup/pids/system.slice/containerd-c1.scope',
    };
    const unified = { '': '/sys/fs/cgroup/system.slice/containerd-c1.scope' };

    it("under the systemd driver leaves the scope's own cgroup (unified, name=systemd) to systemd", () => {
      const dirs = cgroupDirsToRemove(hybrid, true);
      expect(dirs).to.not.include(hybrid['']);
      expect(dirs).to.not.include(hybrid['name=systemd']);
      expect(dirs).to.have.members([hybrid.blkio, hybrid.cpu, hybrid.cpuset, hybrid.freezer, hybrid.memory, hybrid.pids]);
      expect(cgroupDirsToRemove(unified, true)).to.deep.equal([]);
    });

    it('with cgroupfs (no systemd driver) removes every directory runc made', () => {
      expect(cgroupDirsToRemove(hybrid, false)).to.have.members(Object.values(hybrid));
      expect(cgroupDirsToRemove(unified, false)).to.deep.equal([unified['']]);
    });
  });

  describe('deleteStoppedDirectly', () => {
    const bundle = () => path.join(dir, 'bundle');
    const writeSpec = (spec: unknown) => {
      mkdirSync(bundle(), { recursive: true });
      writeFileSync(path.join(bundle(), 'config.json'), JSON.stringify(spec));
    };
    const ownPidNs = { linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] } };

    it('removes the state directory of a container with its own pid namespace', async () => {
      writeSpec(ownPidNs);
      writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify({ id: 'c1', cgroup_paths: {} }));
      expect(await deleteStoppedDirectly(stateDir, bundle(), true)).to.equal(true);
      expect(existsSync(stateDir)).to.equal(false);
    });

    const fallbacks: Array<[string, unknown, unknown]> = [
      ['poststop hooks (runc runs them)', { ...ownPidNs, hooks: { poststop: [{ path: '/bin/true' }] } }, {}],
      ['the host pid namespace (runc kills what is left in the cgroup)', { linux: { namespaces: [{ type: 'mount' }] } }, {}],
      ['a joined pid namespace', { linux: { namespaces: [{ type: 'pid', path: '/proc/1/ns/pid' }] } }, {}],
      ['Intel RDT', { linux: { ...ownPidNs.linux, intelRdt: { closID: 'x' } } }, {}],
      ['cgroup paths outside /sys/fs/cgroup', ownPidNs, { memory: '/etc' }],
      ['no cgroup_paths in state.json', ownPidNs, undefined],
    ];
    for (const [what, spec, cgroupPaths] of fallbacks) {
      it(`leaves the delete to runc with ${what}, touching nothing`, async () => {
        writeSpec(spec);
        writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify({ id: 'c1', cgroup_paths: cgroupPaths }));
        expect(await deleteStoppedDirectly(stateDir, bundle(), true)).to.equal(false);
        expect(existsSync(path.join(stateDir, 'state.json'))).to.equal(true);
      });
    }

    it('leaves the delete to runc when there is no state.json (not runc\'s layout)', async () => {
      writeSpec(ownPidNs);
      expect(await deleteStoppedDirectly(stateDir, bundle(), true)).to.equal(false);
      expect(existsSync(stateDir)).to.equal(true);
    });
  });
});
