import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isRuntimeError } from '../../src/errors.js';
import { SystemBus, matchRule } from '../../src/systemd/bus.js';
import { fromDBusError } from '../../src/systemd/bus-errors.js';

const site = { destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'GetUnit' };

describe('systemd/bus', () => {
  it('maps D-Bus error names to error kinds', () => {
    const kind = (name: string) => fromDBusError(name, 'text', site).kind;
    expect(kind('org.freedesktop.systemd1.NoSuchUnit')).to.equal('NotFound');
    expect(kind('org.freedesktop.machine1.NoSuchMachine')).to.equal('NotFound');
    expect(kind('org.freedesktop.systemd1.UnitExists')).to.equal('AlreadyExists');
    expect(kind('org.freedesktop.DBus.Error.ServiceUnknown')).to.equal('Unavailable');
    expect(kind('org.freedesktop.DBus.Error.AccessDenied')).to.equal('Internal');
    const e = fromDBusError('org.freedesktop.DBus.Error.AccessDenied', 'denied', site);
    expect(e.fields).to.include({ dbusError: 'org.freedesktop.DBus.Error.AccessDenied', method: 'org.freedesktop.systemd1.Manager.GetUnit' });
  });

  it('builds match rules', () => {
    expect(matchRule({ sender: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'JobRemoved' })).to.equal(
      "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved',path='/org/freedesktop/systemd1'",
    );
  });

  describe('connection failures', () => {
    let dir: string;
    let server: Server | null = null;
    beforeEach(() => {
      dir = mkdtempSync('/var/tmp/containerd-ts-bus-');
    });
    afterEach(async () => {
      if (server) await new Promise((r) => server!.close(r));
      server = null;
      rmSync(dir, { recursive: true, force: true });
    });

    it('a missing bus socket is Unavailable, every time', async () => {
      const bus = new SystemBus({ address: `unix:path=${join(dir, 'none')}` });
      for (let i = 0; i < 2; i++) {
        const err = await bus.call(site).catch((e: unknown) => e);
        expect(isRuntimeError(err, 'Unavailable'), String(err)).to.equal(true);
      }
      bus.close();
    });

    it('a bus that never answers the handshake is Unavailable after the connect timeout', async () => {
      const path = join(dir, 'mute.sock');
      server = createServer((s) => s.resume()); // read and ignore: never answer the handshake
      await new Promise<void>((r) => server!.listen(path, r));
      const bus = new SystemBus({ address: `unix:path=${path}`, connectTimeoutMs: 200 });
      const err = await bus.call(site).catch((e: unknown) => e);
      expect(isRuntimeError(err, 'Unavailable'), String(err)).to.equal(true);
      bus.close();
    });

    it('calls after close() are Unavailable', async () => {
      const bus = new SystemBus({ address: `unix:path=${join(dir, 'none')}` });
      bus.close();
      const err = await bus.call(site).catch((e: unknown) => e);
      expect(isRuntimeError(err, 'Unavailable'), String(err)).to.equal(true);
    });
  });

  describe('a private dbus-daemon that restarts', () => {
    let dir: string;
    let daemon: ChildProcess | null = null;
    const start = async (address: string) => {
      daemon = spawn('dbus-daemon', ['--session', '--nofork', `--address=${address}`], { stdio: 'ignore' });
      const socket = address.slice('unix:path='.length);
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
    };
    const stop = async () => {
      const d = daemon;
      daemon = null;
      if (!d || d.exitCode !== null) return;
      const gone = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      await gone;
    };
    beforeEach(function () {
      if (!existsSync('/usr/bin/dbus-daemon')) this.skip();
      dir = mkdtempSync('/var/tmp/containerd-ts-dbus-');
    });
    afterEach(async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reports the lost connection at once and the reconnection on the next call, which succeeds', async () => {
      const address = `unix:path=${join(dir, 'bus')}`;
      await start(address);
      const changes: string[] = [];
      const bus = new SystemBus({ address, onConnectionChange: (c) => changes.push(c) });
      const ping = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetId' };
      const [id1] = await bus.call(ping);
      expect(id1).to.be.a('string');
      await stop();
      for (let i = 0; i < 100 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(changes).to.deep.equal(['lost']);
      rmSync(join(dir, 'bus'), { force: true });
      await start(address);
      const [id2] = await bus.call(ping);
      expect(id2).to.be.a('string').and.not.equal(id1); // a new bus daemon answered
      expect(changes).to.deep.equal(['lost', 'reconnected']);
      bus.close();
      expect(changes).to.have.length(2); // close() is not a loss
    });
  });
});
