import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { REGISTRY_BIN, freePort, makeTlsFiles, startRegistry, type Registry } from '../support/registry.js';
import { pushForeignImage, pushIndex, pushLayout, type PushedDescriptor, type PushTarget } from '../support/registry-push.js';
import { REPO, closeBus, ctrTs, systemdAvailable } from './helpers.js';
import { randomLayer, sha256 } from '../support/layers.js';

/**
 * The `[registry]` table of /etc/containerd-ts/config.toml with the real
 * daemon and Debian's docker-registry on loopback: mirrors tried in order
 * (one down, one holding the image) while the upstream is down or empty,
 * a CA file and a credentials file named in the config for a TLS registry
 * with basic auth, and pull --all-platforms.
 */
const CONFIG = '/etc/containerd-ts/config.toml';
const CONTENT = '/var/lib/containerd-ts/content';
const LAYOUT = join(REPO, 'test/fixtures/out/busybox-layout');

const blobStored = (digest: string) => existsSync(join(CONTENT, 'blobs/sha256', digest.slice(7)));

describe('registry settings in config.toml (integration)', function () {
  this.timeout(180_000);
  let tmp = '';
  let savedConfig: string | undefined;
  let mirror: Registry | undefined;
  let emptyUpstream: Registry | undefined;
  let busybox: PushedDescriptor;
  const pulled: string[] = [];

  /** Writes config.toml and restarts the daemon so it loads it. */
  async function configure(toml: string): Promise<void> {
    await writeFile(CONFIG, toml);
    await execa('systemctl', ['restart', 'containerd-ts']);
    const end = Date.now() + 30_000;
    while ((await ctrTs(['version'])).exitCode !== 0) {
      if (Date.now() > end) throw new Error(`daemon did not come back with:\n${toml}\n${(await execa('journalctl', ['-u', 'containerd-ts', '-n', '20', '--no-pager'], { reject: false })).stdout}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function pull(args: string[]) {
    const r = await ctrTs(['images', 'pull', ...args]);
    if (r.exitCode === 0) pulled.push(args[args.length - 1]!);
    return r;
  }

  before(async function () {
    if (!systemdAvailable() || !existsSync(REGISTRY_BIN)) this.skip();
    tmp = await mkdtemp(join(tmpdir(), 'ctrd-ts-regcfg-'));
    savedConfig = existsSync(CONFIG) ? await readFile(CONFIG, 'utf8') : undefined;
    mirror = await startRegistry();
    emptyUpstream = await startRegistry();
    [busybox] = (await pushLayout({ base: `http://${mirror.host}`, repo: 'library/busybox' }, LAYOUT, 'latest')) as [PushedDescriptor];
  });

  after(async () => {
    for (const name of pulled) await ctrTs(['images', 'rm', name]);
    if (savedConfig === undefined) await rm(CONFIG, { force: true });
    else await writeFile(CONFIG, savedConfig);
    if (tmp) await execa('systemctl', ['restart', 'containerd-ts'], { reject: false });
    await mirror?.stop();
    await emptyUpstream?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    closeBus();
  });

  it('pulls through the mirrors in order (a down one skipped with a log line) while the upstream is down, then empty', async () => {
    const downMirror = `127.0.0.1:${await freePort()}`;
    const downUpstream = `127.0.0.1:${await freePort()}`;
    await configure(`[registry.hosts."${downUpstream}"]
mirrors = ["${downMirror}", "${mirror!.host}"]

[registry.hosts."${emptyUpstream!.host}"]
mirrors = ["${mirror!.host}"]
`);
    const since = new Date(Date.now() - 1000).toISOString().replace('T', ' ').slice(0, 19);
    const name = `${downUpstream}/library/busybox:latest`;
    const r = await pull([name]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`pulled ${name} (${busybox.digest})`);
    const run = await ctrTs(['run', '--rm', name, 'mirror-1', 'echo', 'via mirror']);
    expect(run.stdout).to.equal('via mirror');
    const journal = (await execa('journalctl', ['-u', 'containerd-ts', '--since', since, '--no-pager'])).stdout;
    expect(journal).to.match(new RegExp(`registry mirror failed.*mirror=${downMirror.replace(/\./g, '\\.')}`));

    const viaEmpty = await pull([`${emptyUpstream!.host}/library/busybox:latest`]);
    expect(viaEmpty.exitCode, viaEmpty.stderr).to.equal(0);
    // Not on any mirror: the upstream's own answer (not found) is what the user sees.
    const none = await ctrTs(['images', 'pull', `${emptyUpstream!.host}/library/nothing:1`]);
    expect(none.exitCode).to.equal(1);
    expect(none.stderr).to.contain('not found').and.contain(emptyUpstream!.host);
  });

  it('trusts the ca_file and reads the credentials_file the config names (TLS + basic auth)', async () => {
    const files = await makeTlsFiles(tmp);
    const tls = await startRegistry({ storage: mirror!.storage, tls: { certFile: files.certFile, keyFile: files.keyFile }, auth: { htpasswd: { users: { alice: 'wonderland' } } } });
    try {
      const auth = join(tmp, 'auth.json');
      await writeFile(auth, JSON.stringify({ auths: { [tls.host]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }));
      const name = `${tls.host}/library/busybox:latest`;
      await configure(`[registry]\ncredentials_file = "${auth}"\n`);
      const untrusted = await ctrTs(['images', 'pull', name]);
      expect(untrusted.exitCode).to.equal(1);
      expect(untrusted.stderr).to.contain('not trusted');
      await configure(`[registry]\ncredentials_file = "${auth}"\n\n[registry.hosts."${tls.host}"]\nca_file = "${files.caFile}"\n`);
      const r = await pull([name]);
      expect(r.exitCode, r.stderr).to.equal(0);
      await writeFile(auth, JSON.stringify({ auths: { [tls.host]: { auth: Buffer.from('alice:wrong').toString('base64') } } }));
      const denied = await ctrTs(['images', 'pull', '--skip-unpack', name]);
      expect(denied.exitCode).to.equal(1);
      expect(denied.stderr).to.contain(auth);
    } finally {
      await tls.stop();
    }
  });

  it('refuses to start with a bad [registry] table, naming the key', async () => {
    await writeFile(CONFIG, '[registry.hosts."docker.io"]\nmirrors = ["http://mirror:5000"]\n');
    const check = await execa('/usr/local/bin/containerd-ts', ['--config', CONFIG, '--address', join(tmp, 'never.sock')], { reject: false, timeout: 20_000 });
    expect(check.exitCode).to.not.equal(0);
    expect(check.stderr).to.contain('registry.hosts."docker.io".mirrors').and.contain('without a scheme');
  });

  it('pull --all-platforms stores every platform; only this one is unpacked and runs', async () => {
    await configure('');
    const target: PushTarget = { base: `http://${mirror!.host}`, repo: 'library/busybox' };
    const layer = randomLayer();
    const arm = await pushForeignImage(target, { os: 'linux', architecture: 'arm64' }, layer.gz, layer.diffId);
    const index = await pushIndex(target, [busybox, arm], 'multi');
    const name = `${mirror!.host}/library/busybox:multi`;
    const r = await pull(['--all-platforms', name]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(blobStored(arm.digest), 'arm64 manifest').to.equal(true);
    expect(blobStored(sha256(layer.gz)), 'arm64 layer').to.equal(true);
    expect(blobStored(index.digest)).to.equal(true);
    const run = await ctrTs(['run', '--rm', name, 'allplat-1', 'echo', 'amd64 here']);
    expect(run.stdout).to.equal('amd64 here');
    const inspect = JSON.parse((await ctrTs(['images', 'inspect', '--json', '--platform', 'linux/arm64', name])).stdout) as { platform: string; platforms: Array<{ platform: string }> };
    expect(inspect.platform).to.equal('linux/arm64');
    expect(inspect.platforms.map((p) => p.platform)).to.deep.equal(['linux/amd64', 'linux/arm64']);
    // Export keeps both platforms with --all-platforms.
    const out = join(tmp, 'multi.tar');
    const exp = await ctrTs(['images', 'export', '--all-platforms', out, name]);
    expect(exp.exitCode, exp.stderr).to.equal(0);
    const listing = (await execa('tar', ['-tf', out])).stdout;
    expect(listing).to.contain(`blobs/sha256/${sha256(layer.gz).slice(7)}`);
  });
});
