import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isRuntimeError } from '../../src/errors.js';
import { DEFAULT_CONFIG, loadConfig } from '../../src/daemon/config.js';
import { registryClientOptions } from '../../src/daemon/images/registry-config.js';
import { parseReference } from '../../src/oci/distribution/reference.js';

describe('daemon/config loadConfig', () => {
  let dir: string;
  let n = 0;

  before(async () => {
    dir = await mkdtemp('/var/tmp/ctrd-ts-config-');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `toml` to a fresh file and returns its path. */
  async function file(toml: string): Promise<string> {
    const p = path.join(dir, `config-${n++}.toml`);
    await writeFile(p, toml);
    return p;
  }

  async function rejects(toml: string): Promise<Error> {
    try {
      await loadConfig(await file(toml));
    } catch (err) {
      expect(isRuntimeError(err, 'InvalidArgument'), String(err)).to.equal(true);
      return err as Error;
    }
    expect.fail(`config accepted:\n${toml}`);
  }

  it('uses the documented defaults when the file sets nothing', async () => {
    const cfg = await loadConfig(await file('# nothing here\n'));
    expect(cfg).to.deep.equal(DEFAULT_CONFIG);
    expect(cfg).to.include({
      root: '/var/lib/containerd-ts',
      state: '/run/containerd-ts',
      logLevel: 'info',
      slice: 'system.slice',
      registerMachines: true,
      recycleShims: true,
    });
    expect(cfg.runtime).to.deep.equal({ name: 'io.containerd.runc.v2', binary: 'runc' });
    expect(cfg.socketGroup).to.equal(undefined);
  });

  it('parses every key', async () => {
    const cfg = await loadConfig(
      await file(`
address = "/run/x/ctd.sock"
root = "/srv/ctd"
state = "/run/x"
log_level = "debug"
slice = "machine.slice"
register_machines = false
recycle_shims = false
socket_group = 998

[runtime]
binary = "/usr/local/bin/runc"
`),
    );
    expect(cfg).to.deep.equal({
      address: '/run/x/ctd.sock',
      root: '/srv/ctd',
      state: '/run/x',
      logLevel: 'debug',
      slice: 'machine.slice',
      registerMachines: false,
      recycleShims: false,
      socketGroup: 998,
      runtime: { name: 'io.containerd.runc.v2', binary: '/usr/local/bin/runc' },
      registry: DEFAULT_CONFIG.registry,
      logs: { maxBytes: 10 * 1024 * 1024, keep: 3 },
    });
  });

  it('reads log rotation from [logs]: a size with a unit or a byte count, and the files kept', async () => {
    expect((await loadConfig(await file('[logs]\nmax_size = "64K"\nmax_files = 0\n'))).logs).to.deep.equal({ maxBytes: 65536, keep: 0 });
    expect((await loadConfig(await file('[logs]\nmax_size = 1048576\n'))).logs).to.deep.equal({ maxBytes: 1048576, keep: 3 });
  });

  it('rejects a log rotation that cannot work, naming the key', async () => {
    expect((await rejects('[logs]\nmax_size = "10Q"\n')).message).to.contain('logs.max_size');
    expect((await rejects('[logs]\nmax_size = 100\n')).message).to.contain('at least 4096');
    expect((await rejects('[logs]\nmax_files = -1\n')).message).to.contain('0..100');
    expect((await rejects('[logs]\nmax_files = 1.5\n')).message).to.contain('logs.max_files');
    expect((await rejects('[logs]\nkeep = 2\n')).message).to.contain('logs.keep');
    expect((await rejects('logs = 5\n')).message).to.contain('[logs] must be a table');
  });

  it('does not let one load change the defaults of the next', async () => {
    await loadConfig(await file('[runtime]\nbinary = "/opt/runc"\n'));
    expect((await loadConfig(await file(''))).runtime.binary).to.equal('runc');
    expect(DEFAULT_CONFIG.runtime.binary).to.equal('runc');
  });

  it('rejects an unknown key, naming it (a typo never becomes a default)', async () => {
    expect((await rejects('log_levl = "debug"\n')).message).to.contain('log_levl');
    expect((await rejects('[runtime]\nbinnary = "runc"\n')).message).to.contain('runtime.binnary');
  });

  it('rejects wrong types', async () => {
    expect((await rejects('root = 5\n')).message).to.contain('"root"');
    expect((await rejects('address = ""\n')).message).to.contain('"address"');
    expect((await rejects('register_machines = "yes"\n')).message).to.contain('register_machines');
    expect((await rejects('recycle_shims = 1\n')).message).to.contain('recycle_shims must be true or false');
    expect((await rejects('socket_group = -1\n')).message).to.contain('socket_group');
    expect((await rejects('socket_group = 1.5\n')).message).to.contain('socket_group');
    expect((await rejects('socket_group = "docker"\n')).message).to.contain('socket_group');
    expect((await rejects('log_level = "verbose"\n')).message).to.contain('log_level');
    expect((await rejects('runtime = "runc"\n')).message).to.contain('runtime');
    expect((await rejects('[runtime]\nbinary = 1\n')).message).to.contain('runtime.binary');
  });

  it('rejects a slice that is not a .slice unit name', async () => {
    for (const bad of ['system', 'containers.scope', 'a/b.slice', 'my slice.slice']) {
      expect((await rejects(`slice = "${bad}"\n`)).message, bad).to.contain(bad);
    }
  });

  it('rejects invalid TOML, naming the file', async () => {
    const p = await file('root = \n');
    const err = await loadConfig(p).then(
      () => expect.fail('accepted'),
      (e: unknown) => e as Error,
    );
    expect(isRuntimeError(err, 'InvalidArgument')).to.equal(true);
    expect(err.message).to.contain(p).and.to.contain('TOML');
  });

  it('fails when an explicitly named file does not exist', async () => {
    const missing = path.join(dir, 'nope.toml');
    const err = await loadConfig(missing).then(
      () => expect.fail('accepted'),
      (e: unknown) => e as Error,
    );
    expect(isRuntimeError(err, 'InvalidArgument')).to.equal(true);
    expect(err.message).to.contain(missing);
  });

  it('lets overrides (command-line flags) win over the file, ignoring undefined ones', async () => {
    const p = await file('root = "/from/file"\nstate = "/state/file"\n');
    const cfg = await loadConfig(p, { root: '/from/flag', state: undefined, address: '/flag.sock' });
    expect(cfg.root).to.equal('/from/flag');
    expect(cfg.state).to.equal('/state/file');
    expect(cfg.address).to.equal('/flag.sock');
  });

  describe('[registry]', () => {
    const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

    it('reads credentials file, certs dir, per-host insecure, CA file and mirrors', async () => {
      const ca = path.join(dir, 'mirror-ca.pem');
      await writeFile(ca, PEM);
      const auth = path.join(dir, 'auth.json');
      await writeFile(auth, JSON.stringify({ auths: { 'mirror.internal:5000': { auth: Buffer.from('u:p').toString('base64') } } }));
      const cfg = await loadConfig(
        await file(`[registry]
credentials_file = "${auth}"
certs_dir = "/etc/certs.d"
max_concurrent_downloads = 5

[registry.hosts."docker.io"]
mirrors = ["mirror.internal:5000", "10.0.0.2"]

[registry.hosts."mirror.internal:5000"]
insecure = true
ca_file = "${ca}"
`),
      );
      expect(cfg.registry.credentialsFile).to.equal(auth);
      expect(cfg.registry.certsDir).to.equal('/etc/certs.d');
      expect(cfg.registry.maxConcurrentDownloads).to.equal(5);
      expect(cfg.registry.insecureHosts).to.deep.equal(['mirror.internal:5000']);
      expect(cfg.registry.hosts['docker.io']).to.deep.equal({ insecure: false, mirrors: ['mirror.internal:5000', '10.0.0.2'] });
      expect(cfg.registry.hosts['mirror.internal:5000']).to.deep.include({ insecure: true, caPem: PEM, caFile: ca, mirrors: [] });
      // Without a [registry] table: the defaults.
      expect((await loadConfig(await file(''))).registry).to.deep.equal(DEFAULT_CONFIG.registry);
    });

    it('turns the host tables into client options: insecure and CA by reference host and API host, mirrors by registry', async () => {
      const ca = path.join(dir, 'hub-ca.pem');
      await writeFile(ca, PEM);
      const cfg = await loadConfig(
        await file(`[registry.hosts."docker.io"]
ca_file = "${ca}"
mirrors = ["m1:5000"]

[registry.hosts."m1:5000"]
insecure = true
`),
      );
      const opts = registryClientOptions(cfg.registry, parseReference('busybox'), { insecureHosts: ['extra:1'] });
      expect(opts.plainHttpHosts).to.have.members(['m1:5000', 'extra:1']);
      expect(await opts.caFor!('registry-1.docker.io')).to.equal(PEM.trim());
      expect(await opts.caFor!('docker.io')).to.equal(PEM.trim());
      expect(await opts.caFor!('m1:5000')).to.equal(undefined);
      expect(opts.mirrors!('docker.io')).to.deep.equal(['m1:5000']);
      expect(opts.mirrors!('quay.io')).to.deep.equal([]);
      const plain = registryClientOptions(cfg.registry, parseReference('r.example:5000/app'), { plainHttp: true });
      expect(plain.plainHttpHosts).to.include('r.example:5000');
    });

    it('refuses unknown keys, bad hosts, unreadable or non-PEM CA files, schemes in mirrors and a malformed credentials file', async () => {
      const notPem = path.join(dir, 'not.pem');
      await writeFile(notPem, 'hello');
      const badAuth = path.join(dir, 'bad-auth.json');
      await writeFile(badAuth, '{"nope": 1}');
      expect((await rejects('[registry]\nmirror = ["x"]\n')).message).to.match(/unknown key registry\.mirror/);
      expect((await rejects('[registry.hosts."docker.io"]\nmirors = ["x"]\n')).message).to.match(/unknown key mirors/);
      expect((await rejects('[registry.hosts."bad host"]\ninsecure = true\n')).message).to.match(/"bad host" is not a registry host/);
      expect((await rejects('[registry.hosts."docker.io"]\nmirrors = ["http://m:5000"]\n')).message).to.match(/without a scheme/);
      expect((await rejects('[registry.hosts."docker.io"]\nmirrors = "m:5000"\n')).message).to.match(/must be a list/);
      expect((await rejects('[registry.hosts."r:5000"]\ninsecure = "yes"\n')).message).to.match(/insecure must be true or false/);
      expect((await rejects('[registry.hosts."r:5000"]\nca_file = "/nonexistent/ca.pem"\n')).message).to.match(/cannot read \/nonexistent\/ca\.pem/);
      expect((await rejects(`[registry.hosts."r:5000"]\nca_file = "${notPem}"\n`)).message).to.match(/holds no PEM certificate/);
      expect((await rejects('[registry.hosts."r:5000"]\nca_file = "relative.pem"\n')).message).to.match(/absolute path/);
      expect((await rejects(`[registry]\ncredentials_file = "${badAuth}"\n`)).message).to.match(/no "auths" object/);
      expect((await rejects('[registry]\nmax_concurrent_downloads = 0\n')).message).to.match(/from 1 to 64/);
    });
  });
});
