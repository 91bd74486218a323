import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { REGISTRY_BIN, makeTlsFiles, startRegistry, type Registry } from '../support/registry.js';
import { pushBlob, pushForeignImage, pushIndex, pushLayout, type PushedDescriptor, type PushTarget } from '../support/registry-push.js';
import { startTokenServer, type TokenServer } from '../support/registry-token.js';
import { startThrottleProxy } from '../support/registry-proxy.js';
import { randomLayer as randomLayerOf, sha256 } from '../support/layers.js';
import { execa } from 'execa';
import { CTR_TS } from './helpers.js';
import { REPO, closeBus, ctrTs, killDaemon, leftovers, systemdAvailable } from './helpers.js';

/**
 * `ctr-ts images pull` against Debian's docker-registry on loopback, in the
 * three set-ups of issue 3: no auth (plain HTTP), htpasswd basic auth over
 * TLS with a CA made here, and bearer tokens from a token server in the test
 * helpers. Images are pushed with the project's own push code.
 */
const LAYOUT = join(REPO, 'test/fixtures/out/busybox-layout');
const CONTENT = '/var/lib/containerd-ts/content';
const CERTS_DIR = '/etc/containerd-ts/certs.d';

/** A one-file random layer, 64 KiB unless told. */
const randomLayer = (size = 64 * 1024) => randomLayerOf(size);

/** Refs of the ingests on disk, as `<namespace>/<ref>` (the daemon keeps ingests per namespace). */
function ingestRefs(): string[] {
  const root = join(CONTENT, 'ingest');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((d) => {
    try {
      return [(JSON.parse(readFileSync(join(root, d, 'meta.json'), 'utf8')) as { ref: string }).ref];
    } catch {
      return [];
    }
  });
}

describe('image pull from a registry (integration)', function () {
  this.timeout(120_000);
  let tmp = '';
  let plain: Registry | undefined;
  let busyboxManifest: PushedDescriptor;
  const pulled: string[] = [];
  const ref = (r: Registry, path = 'library/busybox:latest') => `${r.host}/${path}`;

  before(async function () {
    if (!systemdAvailable() || !existsSync(REGISTRY_BIN)) this.skip();
    tmp = await mkdtemp(join(tmpdir(), 'ctrd-ts-pull-'));
    plain = await startRegistry();
    const target: PushTarget = { base: `http://${plain.host}`, repo: 'library/busybox' };
    [busyboxManifest] = (await pushLayout(target, LAYOUT, 'latest')) as [PushedDescriptor];
    const layer = randomLayer();
    const arm = await pushForeignImage(target, { os: 'linux', architecture: 'arm64' }, layer.gz, layer.diffId);
    await pushIndex(target, [busyboxManifest, arm], 'multi');
  });

  after(async () => {
    for (const name of pulled) await ctrTs(['images', 'rm', name]);
    await plain?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    closeBus();
  });

  async function pull(args: string[]) {
    const r = await ctrTs(['images', 'pull', ...args]);
    const name = args[args.length - 1]!;
    if (r.exitCode === 0) pulled.push(name);
    return r;
  }

  async function imageNames(): Promise<string> {
    return (await ctrTs(['images', 'ls'])).stdout;
  }

  it('pulls busybox from a plain-HTTP loopback registry, and ctr-ts run starts it', async () => {
    const name = ref(plain!);
    const r = await pull([name]);
    expect(r.exitCode, r.stderr).to.equal(0);
    // stdout is not a terminal: plain lines, one per status change, and a summary.
    expect(r.stdout).to.match(/layer\s+[0-9a-f]{12} (done|exists)/);
    expect(r.stdout).to.contain(`pulled ${name} (${busyboxManifest.digest})`);
    expect(await imageNames()).to.contain(name);
    const run = await ctrTs(['run', '--rm', name, 'pull-t1', 'echo', 'ok']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stdout).to.equal('ok');
    expect(await leftovers('pull-t1')).to.deep.equal([]);
    expect(ingestRefs().filter((x) => x.startsWith('default/pull-'))).to.deep.equal([]);
  });

  it('pulls by digest, and with --plain-http', async () => {
    const r = await pull(['--plain-http', `${plain!.host}/library/busybox@${busyboxManifest.digest}`]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(await imageNames()).to.contain(`${plain!.host}/library/busybox@${busyboxManifest.digest}`);
  });

  it('picks linux/amd64 from a multi-platform index, or the --platform asked for', async () => {
    const name = ref(plain!, 'library/busybox:multi');
    const r = await pull([name]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const run = await ctrTs(['run', '--rm', name, 'pull-t2', 'echo', 'multi']);
    expect(run.stdout).to.equal('multi');
    const arm = await pull(['--platform', 'linux/arm64', '--skip-unpack', name]);
    expect(arm.exitCode, arm.stderr).to.equal(0);
    const none = await ctrTs(['images', 'pull', '--platform', 'linux/s390x', name]);
    expect(none.exitCode).to.not.equal(0);
    expect(none.stderr).to.contain('no manifest for platform linux/s390x').and.contain('linux/amd64').and.contain('linux/arm64');
  });

  it('reports an unknown tag or repository as not found and records nothing', async () => {
    for (const missing of [ref(plain!, 'library/busybox:nope'), ref(plain!, 'nobody/nothing:latest')]) {
      const r = await ctrTs(['images', 'pull', missing]);
      expect(r.exitCode, missing).to.equal(1);
      expect(r.stderr).to.match(/^ctr-ts: image .* not found/m);
      expect(await imageNames()).to.not.contain(missing);
    }
  });

  it('rejects a layer whose bytes do not match its digest: no record, no blob, no partial ingest', async () => {
    const layer = randomLayer();
    const target: PushTarget = { base: `http://${plain!.host}`, repo: 'test/corrupt' };
    const m = await pushForeignImage(target, { os: 'linux', architecture: 'amd64' }, layer.gz, layer.diffId);
    await pushIndex(target, [m], 'latest');
    // Corrupt the stored blob in place (same size): the registry serves what is on disk.
    const hex = sha256(layer.gz).slice(7);
    const file = join(plain!.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const bytes = await readFile(file);
    bytes[bytes.length - 20] ^= 0xff;
    await writeFile(file, bytes);
    const name = ref(plain!, 'test/corrupt:latest');
    const r = await ctrTs(['images', 'pull', name]);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.contain('digest mismatch');
    expect(await imageNames()).to.not.contain(name);
    expect(existsSync(join(CONTENT, 'blobs/sha256', hex))).to.equal(false);
    expect(ingestRefs().filter((x) => x.includes(hex))).to.deep.equal([]);
  });

  /** Bytes in the ingest of `ref` in namespace default, or -1 when there is none. */
  function ingestSize(ref: string): number {
    const root = join(CONTENT, 'ingest');
    for (const d of existsSync(root) ? readdirSync(root) : []) {
      try {
        if ((JSON.parse(readFileSync(join(root, d, 'meta.json'), 'utf8')) as { ref: string }).ref === `default/${ref}`) {
          return existsSync(join(root, d, 'data')) ? readFileSync(join(root, d, 'data')).length : 0;
        }
      } catch {
        // an ingest being created
      }
    }
    return -1;
  }

  async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('resumes with a Range request after the daemon is SIGKILLed mid-layer; no corrupt blob in between', async () => {
    const layer = randomLayer(12 * 1024 * 1024);
    const target: PushTarget = { base: `http://${plain!.host}`, repo: 'test/big' };
    const m = await pushForeignImage(target, { os: 'linux', architecture: 'amd64' }, layer.gz, layer.diffId);
    await pushIndex(target, [m], 'latest');
    const proxy = await startThrottleProxy(plain!.port, 3 * 1024 * 1024);
    try {
      const layerDigest = sha256(layer.gz);
      const ingest = `pull-${layerDigest}`;
      const name = `${proxy.host}/test/big:latest`;
      const first = execa(CTR_TS, ['images', 'pull', name], { reject: false });
      await until('a partial layer', () => ingestSize(ingest) > 1024 * 1024);
      await killDaemon();
      const r1 = await first;
      expect(r1.exitCode).to.not.equal(0);
      const partial = ingestSize(ingest);
      expect(partial).to.be.greaterThan(0).and.lessThan(layer.gz.length);
      expect(existsSync(join(CONTENT, 'blobs/sha256', layerDigest.slice(7)))).to.equal(false);
      // systemd restarts the daemon (Restart=always); wait for it to answer.
      await until('the daemon back', async () => (await ctrTs(['version'])).exitCode === 0, 30_000);
      const r2 = await pull([name]);
      expect(r2.exitCode, r2.stderr).to.equal(0);
      const ranges = proxy.requests.filter((h) => h.includes(`/blobs/${layerDigest}`) && /\r\nrange: bytes=\d+-/.test(h));
      expect(ranges.length, proxy.requests.join('\n---\n')).to.be.greaterThan(0);
      expect(Number(/range: bytes=(\d+)-/.exec(ranges[0]!)![1])).to.be.greaterThan(0);
      expect(existsSync(join(CONTENT, 'blobs/sha256', layerDigest.slice(7)))).to.equal(true);
      expect(ingestSize(ingest)).to.equal(-1);
    } finally {
      await proxy.stop();
    }
  });

  it('resumes a layer whose connection is cut mid-way, within the same pull', async () => {
    const layer = randomLayer(8 * 1024 * 1024);
    const target: PushTarget = { base: `http://${plain!.host}`, repo: 'test/cut' };
    const m = await pushForeignImage(target, { os: 'linux', architecture: 'amd64' }, layer.gz, layer.diffId);
    await pushIndex(target, [m], 'latest');
    const proxy = await startThrottleProxy(plain!.port, 3 * 1024 * 1024);
    try {
      const layerDigest = sha256(layer.gz);
      const name = `${proxy.host}/test/cut:latest`;
      const pulling = pull([name]);
      await until('a partial layer', () => ingestSize(`pull-${layerDigest}`) > 1024 * 1024);
      proxy.cutAll();
      const r = await pulling;
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(proxy.requests.some((h) => h.includes(`/blobs/${layerDigest}`) && /\r\nrange: bytes=[1-9]\d*-/.test(h))).to.equal(true);
    } finally {
      await proxy.stop();
    }
  });

  describe('htpasswd basic auth over TLS with a test CA', () => {
    let tls: Registry | undefined;
    let caFile = '';
    let certsDir = '';

    before(async () => {
      const files = await makeTlsFiles(tmp);
      caFile = files.caFile;
      tls = await startRegistry({ storage: plain!.storage, tls: { certFile: files.certFile, keyFile: files.keyFile }, auth: { htpasswd: { users: { alice: 'wonderland' } } } });
    });
    after(async () => {
      await tls?.stop();
      if (certsDir) await rm(certsDir, { recursive: true, force: true });
    });

    it('refuses a registry whose certificate it cannot verify, saying how to trust it', async () => {
      const r = await ctrTs(['images', 'pull', '--user', 'alice:wonderland', ref(tls!)]);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.contain(`TLS certificate of registry ${tls!.host} is not trusted`).and.contain('--tlscacert');
    });

    it('says which registry wants credentials and how to give them', async () => {
      const none = await ctrTs(['images', 'pull', '--tlscacert', caFile, ref(tls!)]);
      expect(none.exitCode).to.equal(1);
      expect(none.stderr).to.contain(`registry ${tls!.host} requires authentication`).and.contain('401').and.contain('--user USER:PASSWORD');
      const wrong = await ctrTs(['images', 'pull', '--tlscacert', caFile, '--user', 'alice:nope', ref(tls!)]);
      expect(wrong.exitCode).to.equal(1);
      expect(wrong.stderr).to.contain(`registry ${tls!.host} refused the credentials of user "alice"`).and.contain('401');
      expect(await imageNames()).to.not.contain(ref(tls!));
    });

    it('pulls with the right credentials and the CA given on the command line', async () => {
      const r = await pull(['--tlscacert', caFile, '--user', 'alice:wonderland', ref(tls!)]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(await imageNames()).to.contain(ref(tls!));
    });

    it('takes the CA from /etc/containerd-ts/certs.d/HOST/ca.crt', async () => {
      certsDir = join(CERTS_DIR, tls!.host);
      await mkdir(certsDir, { recursive: true });
      await writeFile(join(certsDir, 'ca.crt'), await readFile(caFile));
      const r = await pull(['--user', 'alice:wonderland', ref(tls!, 'library/busybox:latest')]);
      expect(r.exitCode, r.stderr).to.equal(0);
    });
  });

  describe('bearer tokens from a token server', () => {
    let tokens: TokenServer | undefined;
    let reg: Registry | undefined;

    before(async () => {
      tokens = await startTokenServer(tmp, { bob: 'builder' });
      reg = await startRegistry({ storage: plain!.storage, auth: { token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertFile: tokens.certFile } } });
    });
    after(async () => {
      await reg?.stop();
      await tokens?.stop();
    });

    it('pulls with a token obtained for the pull scope', async () => {
      const r = await pull(['--user', 'bob:builder', ref(reg!)]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(tokens!.issued.length).to.be.greaterThan(0);
      expect(tokens!.issued[0]!.scopes).to.deep.equal(['repository:library/busybox:pull']);
      const run = await ctrTs(['run', '--rm', ref(reg!), 'pull-t3', 'echo', 'token-ok']);
      expect(run.stdout).to.equal('token-ok');
    });

    it('explains refused credentials and anonymous access', async () => {
      const wrong = await ctrTs(['images', 'pull', '--user', 'bob:wrong', ref(reg!)]);
      expect(wrong.exitCode).to.equal(1);
      expect(wrong.stderr).to.contain(`registry ${reg!.host} refused the credentials of user "bob"`);
      const none = await ctrTs(['images', 'pull', ref(reg!, 'library/busybox:multi')]);
      expect(none.exitCode).to.equal(1);
      expect(none.stderr).to.contain(`registry ${reg!.host} requires authentication`);
    });
  });

  it('pushes with pushBlob idempotently (helper sanity)', async () => {
    const data = randomBytes(10);
    const t: PushTarget = { base: `http://${plain!.host}`, repo: 'test/blobs' };
    expect(await pushBlob(t, data)).to.equal(await pushBlob(t, data));
  });
});
