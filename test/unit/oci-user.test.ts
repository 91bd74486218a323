import { expect } from 'chai';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isRuntimeError } from '../../src/errors.js';
import { resolveUser } from '../../src/oci/user.js';

const PASSWD = `# comment line
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
app:x:1000:1001:app:/home/app:/bin/sh
`;
const GROUP = `root:x:0:
daemon:x:1:
nogroup:x:65533:
users:x:100:app
`;

async function rejectsInvalid(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(isRuntimeError(err, 'InvalidArgument'), String(err)).to.equal(true);
    return err as Error;
  }
  expect.fail('expected InvalidArgument');
}

describe('oci/user resolveUser', () => {
  let dir: string;
  let rootfs: string;

  before(async () => {
    dir = await mkdtemp('/var/tmp/ctrd-ts-user-');
    rootfs = path.join(dir, 'rootfs');
    await mkdir(path.join(rootfs, 'etc'), { recursive: true });
    await writeFile(path.join(rootfs, 'etc/passwd'), PASSWD);
    await writeFile(path.join(rootfs, 'etc/group'), GROUP);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs as root when no user is given', async () => {
    expect(await resolveUser(rootfs, '')).to.deep.equal({ uid: 0, gid: 0, additionalGids: [] });
    expect(await resolveUser(rootfs, undefined)).to.deep.equal({ uid: 0, gid: 0, additionalGids: [] });
  });

  it('looks a name up in /etc/passwd, taking its primary gid', async () => {
    expect(await resolveUser(rootfs, 'nobody')).to.include({ uid: 65534, gid: 65534 });
    expect(await resolveUser(rootfs, 'app')).to.include({ uid: 1000, gid: 1001 });
  });

  it('takes a numeric uid, with the gid of its passwd entry when there is one', async () => {
    expect(await resolveUser(rootfs, '65534')).to.include({ uid: 65534, gid: 65534 });
    expect(await resolveUser(rootfs, '1000')).to.include({ uid: 1000, gid: 1001 });
    expect(await resolveUser(rootfs, '4242')).to.include({ uid: 4242, gid: 0 });
  });

  it('takes uid:gid as numbers even when not in passwd', async () => {
    expect(await resolveUser(rootfs, '1000:1000')).to.include({ uid: 1000, gid: 1000 });
    expect(await resolveUser(rootfs, '5000:6000')).to.include({ uid: 5000, gid: 6000 });
  });

  it('looks the group name up in /etc/group', async () => {
    expect(await resolveUser(rootfs, 'nobody:nogroup')).to.include({ uid: 65534, gid: 65533 });
    expect(await resolveUser(rootfs, '1000:users')).to.include({ uid: 1000, gid: 100 });
  });

  it('rejects an unknown user name, naming it', async () => {
    const err = await rejectsInvalid(resolveUser(rootfs, 'ghost'));
    expect(err.message).to.contain('"ghost"');
  });

  it('rejects an unknown group name, naming it', async () => {
    const err = await rejectsInvalid(resolveUser(rootfs, 'nobody:ghosts'));
    expect(err.message).to.contain('"ghosts"');
  });

  it('rejects a user name when the image has no /etc/passwd, but accepts numeric ids', async () => {
    const bare = path.join(dir, 'bare');
    await mkdir(bare);
    await rejectsInvalid(resolveUser(bare, 'nobody'));
    expect(await resolveUser(bare, '1:2')).to.include({ uid: 1, gid: 2 });
  });

  // Regression test (was a bug): src/oci/user.ts readDbFile (line ~44) uses readFile(path.join(rootfs, rel)), which follows
  // symlinks, although the doc comment promises "never following a symlink out of it". An image whose
  // etc/passwd is the (legal) absolute symlink "/etc/passwd" makes the daemon read the HOST's passwd,
  // and a symlink to any host file lets the image choose uids from host data. containerd resolves the
  // path inside the rootfs (securejoin / fs.RootPath). Fix: resolve etc/passwd and etc/group with the
  // snapshot's safe-path resolver (src/snapshot/safe-path.ts), treating absolute links as rooted at
  // rootfs, or open with O_NOFOLLOW on every component and refuse links leaving rootfs.
  it('never reads a passwd file outside the rootfs through a symlink', async () => {
    const outside = path.join(dir, 'outside-passwd');
    await writeFile(outside, 'evil:x:4242:4242::/:/bin/sh\n');
    const evil = path.join(dir, 'evil');
    await mkdir(path.join(evil, 'etc'), { recursive: true });
    await symlink(outside, path.join(evil, 'etc/passwd'));
    await rejectsInvalid(resolveUser(evil, 'evil'));
  });
});
