import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, bus, closeBus, ctr, ctrTs, eventually, leftovers, sh, systemdAvailable } from './helpers.js';

/** Every bad input gets a clear error and changes nothing. */
describe('bad input (integration)', function () {
  let scratch = '';
  before(async function () {
    if (!systemdAvailable()) this.skip();
    scratch = mkdtempSync('/var/tmp/containerd-ts-bad-');
    const imported = await ctrTs(['images', 'import', BUSYBOX_ARCHIVE]);
    expect(imported.exitCode, imported.stderr).to.equal(0);
  });
  after(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    closeBus();
  });

  async function expectRejected(args: string[], message: RegExp, id?: string) {
    const r = await ctrTs(args);
    expect(r.exitCode, `ctr-ts ${args.join(' ')} should fail`).to.equal(1);
    expect(r.stderr).to.match(message);
    if (id) expect(await leftovers(id)).to.deep.equal([]);
    return r;
  }

  it('the same container id in a second namespace: a clear error naming the scope, the first untouched, nothing left in the second', async () => {
    const id = 'twice-1';
    expect((await ctrTs(['run', '-d', BUSYBOX, id, 'sleep', '300'])).exitCode).to.equal(0);
    try {
      expect((await ctrTs(['-n', 'other-ns', 'images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
      const r = await ctrTs(['-n', 'other-ns', 'run', '-d', BUSYBOX, id, 'sleep', '300']);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.match(/systemd unit containerd-twice-1\.scope already exists/);
      // The scope and machine named after the id are the first container's; nothing of the second namespace may remain.
      expect((await leftovers(id, 'other-ns', 0)).filter((l) => !/^(scope containerd-twice-1\.scope|machine twice-1|cgroup .*\/containerd-twice-1\.scope$)/.test(l))).to.deep.equal([]);
      expect((await ctrTs(['tasks', 'ls'])).stdout).to.match(/^twice-1\s+\d+\s+RUNNING/m);
    } finally {
      await ctrTs(['-n', 'other-ns', 'images', 'rm', BUSYBOX]);
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await ctrTs(['tasks', 'wait', id]);
      await ctrTs(['tasks', 'rm', id]);
      await ctrTs(['containers', 'rm', id]);
    }
    expect(await leftovers(id)).to.deep.equal([]);
    // The second namespace empties once the collector has taken the image's content and snapshots; then it can go.
    expect(await eventually(async () => (await ctr(['namespaces', 'rm', 'other-ns'])).exitCode === 0, 20_000)).to.equal(true);
  });

  it('unknown image: NotFound, no record', () =>
    expectRejected(['run', '--rm', 'docker.io/library/nope:latest', 'bad-image', 'true'], /image "docker.io\/library\/nope:latest" not found/, 'bad-image'));

  for (const [id, why] of [['../x', /invalid/], ['a'.repeat(77), /77 characters long; the limit is 76/], ['bad id', /invalid/], ['bad/slash', /invalid/], ['bad-', /invalid/]] as const) {
    it(`invalid id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}...(${id.length})` : id)} is refused`, () => expectRejected(['run', '--rm', BUSYBOX, id, 'true'], why));
  }
  it('an empty id is refused', () => expectRejected(['run', '--rm', BUSYBOX, '', 'true'], /must not be empty|usage/));

  it('malformed limits are refused before anything is created', async () => {
    await expectRejected(['run', '--rm', '--memory', '12XB', BUSYBOX, 'lim-1', 'true'], /invalid memory size "12XB"/, 'lim-1');
    await expectRejected(['run', '--rm', '--cpus', '-1', BUSYBOX, 'lim-2', 'true'], /invalid CPU count "-1"/, 'lim-2');
    await expectRejected(['run', '--rm', '--memory', '1k', BUSYBOX, 'lim-3', 'true'], /below the minimum/, 'lim-3');
    await expectRejected(['run', '--rm', '--pids', '0', BUSYBOX, 'lim-4', 'true'], /must be at least 1/, 'lim-4');
  });

  it('a command that does not exist in the image: runc fails, the error says so, nothing is left', async () => {
    const r = await expectRejected(['run', '--rm', BUSYBOX, 'nocmd-1', '/bin/does-not-exist'], /does-not-exist/, 'nocmd-1');
    expect(r.stderr).to.match(/no such file|not found/i);
  });

  it('the same failure without --rm still leaves no record (ctr-ts removes what it created)', async () => {
    await expectRejected(['run', BUSYBOX, 'nocmd-2', 'no-such-binary'], /no-such-binary/, 'nocmd-2');
  });

  it('a scope of the same name that already runs: the create fails, cleaned up, the foreign unit untouched', async () => {
    const id = 'taken-1';
    // A foreign transient scope with the name runc would use, around a sleep.
    const sleeper = await sh('bash', ['-c', `systemd-run --scope --unit containerd-${id} sleep 60 >/dev/null 2>&1 & sleep 1; systemctl is-active containerd-${id}.scope`]);
    expect(sleeper.stdout.trim()).to.equal('active');
    try {
      await expectRejected(['run', '--rm', BUSYBOX, id, 'true'], /containerd-taken-1\.scope already exists/);
      expect((await sh('systemctl', ['is-active', `containerd-${id}.scope`])).stdout.trim()).to.equal('active');
      expect(await bus().machined.getMachine(id)).to.equal(null);
      const ls = await ctr(['containers', 'ls', '-q']);
      expect(ls.stdout.split('\n')).to.not.include(id);
    } finally {
      await sh('systemctl', ['stop', `containerd-${id}.scope`]);
    }
  });

  describe('corrupt image archives store nothing', () => {
    async function contentCount(): Promise<number> {
      const r = await ctr(['content', 'ls', '-q']);
      return r.stdout.split('\n').filter(Boolean).length;
    }

    it('a truncated archive is rejected', async () => {
      await ctrTs(['images', 'rm', BUSYBOX]);
      const before = await contentCount();
      const file = path.join(scratch, 'truncated.tar');
      copyFileSync(BUSYBOX_ARCHIVE, file);
      truncateSync(file, Math.floor(statSync(file).size / 2));
      const r = await ctrTs(['images', 'import', file]);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.match(/truncated|unexpected end|invalid/i);
      expect((await ctrTs(['images', 'ls'])).stdout).to.not.contain(BUSYBOX);
      expect(await contentCount()).to.be.at.most(before + 1);
    });

    it('a blob whose content does not match its digest is rejected, nothing committed', async () => {
      const file = path.join(scratch, 'corrupt.tar');
      const data = readFileSync(BUSYBOX_ARCHIVE);
      // Flip a byte well inside the (largest) layer blob.
      data[Math.floor(data.length / 2)] ^= 0xff;
      writeFileSync(file, data);
      const r = await ctrTs(['images', 'import', file]);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.match(/digest|mismatch|sha256/i);
      expect((await ctrTs(['images', 'ls'])).stdout).to.not.contain(BUSYBOX);
      const partial = await sh('bash', ['-c', 'ls /var/lib/containerd-ts/content/ingest 2>/dev/null | wc -l']);
      expect(partial.stdout.trim()).to.equal('0');
    });

    after(async () => {
      await ctrTs(['images', 'import', BUSYBOX_ARCHIVE]);
    });
  });
});
