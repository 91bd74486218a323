import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isRuntimeError } from '../../src/errors.js';
import { DEFAULT_CONFIG, loadConfig } from '../../src/daemon/config.js';

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
      socketGroup: 998,
      runtime: { name: 'io.containerd.runc.v2', binary: '/usr/local/bin/runc' },
    });
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
});
