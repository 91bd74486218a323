import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { notifyReady, notifyStatus, notifyStopping } from '../../src/systemd/notify.js';

/** A unix datagram socket like systemd's notify socket (Node has none: python3 plays systemd), printing each message as JSON. */
function receiver(address: string): { child: ChildProcess; next: () => Promise<string> } {
  const bind = address.startsWith('@') ? `'\\0' + ${JSON.stringify(address.slice(1))}` : JSON.stringify(address);
  const code = `import socket, json, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(${bind})\nprint('bound', flush=True)\nwhile True:\n  print(json.dumps(s.recv(4096).decode()), flush=True)\n`;
  const child = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const next = () => new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : waiters.push(resolve)));
  return { child, next };
}

describe('systemd/notify (sd_notify from the daemon\'s own process)', () => {
  let dir = '';
  const saved = process.env['NOTIFY_SOCKET'];
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'notify-'))));
  afterEach(() => {
    if (saved === undefined) delete process.env['NOTIFY_SOCKET'];
    else process.env['NOTIFY_SOCKET'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of ['a socket path', 'an abstract socket (@name)']) {
    it(`sends READY=1 with a one-line STATUS, STOPPING=1 and STATUS= as datagrams to ${kind}`, async () => {
      const address = kind.startsWith('a socket') ? path.join(dir, 'notify') : `@containerd-ts-test-${process.pid}-${Date.now()}`;
      const r = receiver(address);
      try {
        expect(await r.next()).to.equal('bound');
        process.env['NOTIFY_SOCKET'] = address;
        expect(await notifyReady('serving on /run/x.sock\nsecond line')).to.equal(true);
        expect(JSON.parse(await r.next())).to.equal('READY=1\nSTATUS=serving on /run/x.sock second line');
        expect(await notifyStopping()).to.equal(true);
        expect(JSON.parse(await r.next())).to.equal('STOPPING=1');
        expect(await notifyStatus('recovering 3 tasks')).to.equal(true);
        expect(JSON.parse(await r.next())).to.equal('STATUS=recovering 3 tasks');
      } finally {
        r.child.kill();
      }
    });
  }

  it('does nothing without NOTIFY_SOCKET, and says what failed when the socket is not there', async () => {
    delete process.env['NOTIFY_SOCKET'];
    expect(await notifyReady()).to.equal(false);
    process.env['NOTIFY_SOCKET'] = path.join(dir, 'nobody-listens');
    const err = await notifyReady().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/sd_notify failed: .*(ENOENT|ECONNREFUSED|No such file)/);
  });
});
