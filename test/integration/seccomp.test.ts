import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, closeBus, ctr, ctrTs, leftovers, systemdAvailable } from './helpers.js';

/**
 * The default seccomp profile of `ctr-ts run`, enforced by the real runc (and
 * crun) through libseccomp: a syscall it leaves out fails with EPERM, while
 * unconfined, --privileged or the capability that unlocks it lets it through.
 * busybox `unshare -U` is the probe: creating a user namespace needs no
 * capability, so only seccomp stands in its way.
 */
describe('seccomp (integration)', function () {
  const probe = 'unshare -U true; echo "unshare=$?"; grep "^Seccomp:" /proc/self/status';
  let dir = '';
  before(async function () {
    if (!systemdAvailable()) this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
    dir = mkdtempSync('/var/tmp/seccomp-');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    closeBus();
  });

  const run = (id: string, flags: string[], script = probe) => ctrTs(['run', '--rm', ...flags, BUSYBOX, id, 'sh', '-c', script]);

  it('the default profile filters: a user namespace is refused with EPERM', async () => {
    const r = await run('sc-default', []);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('unshare=1');
    expect(r.stdout + r.stderr).to.match(/Operation not permitted/);
    expect(r.stdout).to.match(/^Seccomp:\s+2$/m);
    expect(await leftovers('sc-default')).to.deep.equal([]);
  });

  it('--seccomp-profile unconfined and --privileged run without a filter: the same call succeeds', async () => {
    for (const [id, flags] of [['sc-unconfined', ['--seccomp-profile', 'unconfined']], ['sc-privileged', ['--privileged']]] as const) {
      const r = await run(id, [...flags]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout, id).to.contain('unshare=0');
      expect(r.stdout, id).to.match(/^Seccomp:\s+0$/m);
    }
  });

  it('capability-conditional syscalls: unshare -m is refused by default, allowed with --cap-add SYS_ADMIN', async () => {
    const script = 'unshare -m true; echo "unshare=$?"';
    expect((await run('sc-nocap', [], script)).stdout).to.contain('unshare=1');
    const r = await run('sc-cap', ['--cap-add', 'SYS_ADMIN'], script);
    expect(r.stdout, r.stderr).to.contain('unshare=0');
  });

  it('crun enforces the same profile', async () => {
    const r = await run('sc-crun', ['--runtime', 'crun']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('unshare=1');
    expect(r.stdout).to.match(/^Seccomp:\s+2$/m);
  });

  it('a profile file is used as given (here: everything allowed but mkdir)', async () => {
    const file = path.join(dir, 'no-mkdir.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
    const r = await run('sc-file', ['--seccomp-profile', file], 'mkdir /tmp/x; echo "mkdir=$?"; unshare -U true; echo "unshare=$?"');
    expect(r.stdout, r.stderr).to.contain('mkdir=1');
    expect(r.stdout).to.contain('unshare=0');
  });

  it('a bad profile is refused before anything is created', async () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_NOPE' }));
    const r = await run('sc-bad', ['--seccomp-profile', file]);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/defaultAction must be one of/);
    expect(await leftovers('sc-bad')).to.deep.equal([]);
  });

  it('the real ctr sends its own spec and is not given our profile', async () => {
    const r = await ctr(['run', '--rm', BUSYBOX, 'sc-ctr', 'sh', '-c', probe]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^Seccomp:\s+0$/m);
    expect(await leftovers('sc-ctr')).to.deep.equal([]);
  });
});
