import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { unmountAll } from '../../src/daemon/tasks/rootfs.js';
import { mount } from '../../src/shim/native.js';

const mountedAt = (target: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === target).length;

describe('tasks/rootfs unmountAll', () => {
  let dir: string;
  let target: string;
  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting needs root
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'unmount-all-'));
    target = path.join(dir, 'rootfs');
    mkdirSync(target);
  });
  afterEach(() => {
    // A failed test must not leave a mount on the host.
    while (mountedAt(target) > 0) execFileSync('umount', ['-l', target]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('unmounts every mount stacked on the target and leaves the directory empty', async () => {
    await mount('tmpfs', target, 'tmpfs', 0, 'size=1m');
    writeFileSync(path.join(target, 'lower'), 'x');
    await mount('tmpfs', target, 'tmpfs', 0, 'size=1m');
    writeFileSync(path.join(target, 'upper'), 'y');
    expect(mountedAt(target)).to.equal(2);
    await unmountAll(target);
    expect(mountedAt(target)).to.equal(0);
    expect(() => readFileSync(path.join(target, 'lower'))).to.throw(/ENOENT/);
  });

  it('is a no-op on a directory that is not a mount point, and on a path that does not exist', async () => {
    writeFileSync(path.join(target, 'kept'), 'data');
    await unmountAll(target);
    expect(readFileSync(path.join(target, 'kept'), 'utf8')).to.equal('data');
    await unmountAll(path.join(dir, 'missing'));
  });
});
