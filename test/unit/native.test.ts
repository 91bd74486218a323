import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { listXattrs, makeFifo, receiveFd, reapPid, setChildSubreaper, setWindowSize, waitForExit } from '../../src/shim/native.js';

/**
 * Starts `( <script> )` as a background job of an intermediate `sh` and
 * returns the job's pid once sh has exited, i.e. once the job has been
 * re-parented to this (subreaper) process. The job is gated on fd 3 until
 * then: had it exited while sh was alive, sh could have reaped it itself and
 * our waitid() would (rightly) fail with ECHILD. Its stdio is /dev/null so it
 * does not hold sh's stdout pipe open.
 */
async function orphan(script: string): Promise<number> {
  const job = `(read _ <&3; ${script}) </dev/null >/dev/null 2>&1 & echo $!`;
  const sh = spawn('sh', ['-c', job], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
  let out = '';
  sh.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = once(sh, 'exit') as Promise<[number | null]>;
  await once(sh.stdout!, 'end');
  const [code] = await exited;
  sh.stdio[3]?.destroy(); // EOF on fd 3: the job runs
  expect(code).to.equal(0);
  const pid = Number(out.trim());
  expect(Number.isInteger(pid) && pid > 0, `pid from sh: ${JSON.stringify(out)}`).to.equal(true);
  return pid;
}

/** Rejection of `p`, failing the test if it resolves. */
async function rejectionOf(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  throw new Error('expected a rejection');
}

describe('shim native helper', function () {
  this.timeout(10_000);
  let dir: string;

  before(() => {
    setChildSubreaper();
    dir = mkdtempSync(join(tmpdir(), 'ctd-native-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('waitForExit', () => {
    it('reports the exit code of a re-parented grandchild', async () => {
      const pid = await orphan('sleep 0.2; exit 42');
      expect(await waitForExit(pid)).to.deep.equal({ pid, exitCode: 42, signal: null, status: 42 });
    });

    it('reports a killing signal as 128+signal', async () => {
      const pid = await orphan(`sleep 0.2; exec sh -c 'kill -9 $$'`);
      expect(await waitForExit(pid)).to.deep.equal({ pid, exitCode: null, signal: 9, status: 137 });
    });

    it('reaps a grandchild that exited before the wait began', async () => {
      const pid = await orphan('exit 3');
      await new Promise((r) => setTimeout(r, 100)); // now a zombie of ours
      expect((await waitForExit(pid)).status).to.equal(3);
    });

    it('rejects with ECHILD for a process that is not our child', async () => {
      for (const pid of [1, process.ppid, process.pid]) {
        const err = await rejectionOf(waitForExit(pid));
        expect(err).to.be.instanceOf(Error);
        expect(err.code).to.equal('ECHILD');
        expect(err.syscall).to.equal('waitid');
      }
    });

    it('rejects an invalid pid', async () => {
      for (const pid of [0, -1, 1.5, NaN]) expect((await rejectionOf(waitForExit(pid))).name).to.equal('RangeError');
    });

    it('runs many waits at once, each on its own thread, without starving the libuv threadpool', async () => {
      const n = 8;
      const probe = join(dir, 'probe');
      writeFileSync(probe, 'probe');
      const pids = await Promise.all(Array.from({ length: n }, (_, i) => orphan(`sleep 0.${5 + (i % 3)}; exit ${10 + i}`)));
      const started = Date.now();
      const waits = pids.map((pid) => waitForExit(pid));
      // 8 blocked waits on the 4-thread pool would stall fs until they end.
      expect(await readFile(probe, 'utf8')).to.equal('probe');
      expect(Date.now() - started).to.be.below(400);
      const results = await Promise.all(waits);
      results.forEach((r, i) => expect(r).to.deep.equal({ pid: pids[i], exitCode: 10 + i, signal: null, status: 10 + i }));
      expect(Date.now() - started).to.be.below(1500); // concurrent, not 8 x 0.5 s
    });
  });

  describe('reapPid', () => {
    it('returns null while running, then the status once exited', async () => {
      const pid = await orphan('sleep 0.3; exit 7');
      expect(reapPid(pid)).to.equal(null);
      let st = reapPid(pid);
      while (st === null) {
        await new Promise((r) => setTimeout(r, 20));
        st = reapPid(pid);
      }
      expect(st).to.deep.equal({ pid, exitCode: 7, signal: null, status: 7 });
      expect(() => reapPid(pid)).to.throw().with.property('code', 'ECHILD'); // already reaped
    });
  });

  describe('receiveFd', () => {
    it('receives an fd sent with SCM_RIGHTS, as runc --console-socket does', async () => {
      const file = join(dir, 'payload.txt');
      writeFileSync(file, 'hello from the other side\n');
      const sock = join(dir, 'console.sock');
      const received = receiveFd(sock, 5000);
      expect(existsSync(sock), 'socket bound before receiveFd returns').to.equal(true);
      const py = spawn('python3', ['-c', 'import os,socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nsocket.send_fds(s,[b"/dev/pts/99"],[os.open(sys.argv[2],os.O_RDONLY)])', sock, file], { stdio: 'inherit' });
      // Listen for the exit now: python may be gone before the fd arrives here.
      const exited = once(py, 'exit');
      const fd = await received;
      expect((await exited)[0]).to.equal(0);
      try {
        expect(readFileSync(fd, 'utf8')).to.equal('hello from the other side\n');
      } finally {
        closeSync(fd);
      }
      expect(existsSync(sock), 'socket path unlinked').to.equal(false);
    });

    it('receives a pty master whose size setWindowSize then changes', async () => {
      const sock = join(dir, 'pty.sock');
      const received = receiveFd(sock, 5000);
      // Sends the master, waits for a line on stdin, prints the slave's size.
      const script = [
        'import fcntl,os,socket,struct,sys,termios',
        'm,s=os.openpty()',
        'c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])',
        'socket.send_fds(c,[os.ttyname(s).encode()],[m]); c.close(); os.close(m)',
        'sys.stdin.readline()',
        'r,k,_,_=struct.unpack("HHHH",fcntl.ioctl(s,termios.TIOCGWINSZ,bytes(8)))',
        'print(r,k,flush=True)',
      ].join('\n');
      const py = spawn('python3', ['-c', script, sock], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      py.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const fd = await received;
      try {
        setWindowSize(fd, 33, 101);
        py.stdin.end('go\n');
        expect((await once(py, 'exit'))[0]).to.equal(0);
      } finally {
        closeSync(fd); // only now: with no master left the slave's ioctl gets EIO
      }
      expect(out.trim()).to.equal('33 101');
    });

    it('rejects with ETIMEDOUT when nobody sends, and unlinks the socket', async () => {
      const sock = join(dir, 'idle.sock');
      const started = Date.now();
      const err = await rejectionOf(receiveFd(sock, 150));
      expect(err.code).to.equal('ETIMEDOUT');
      expect(Date.now() - started).to.be.within(140, 2000);
      expect(existsSync(sock)).to.equal(false);
    });

    it('rejects when the peer sends no fd', async () => {
      const sock = join(dir, 'nofd.sock');
      const received = receiveFd(sock, 5000);
      const py = spawn('python3', ['-c', 'import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ns.sendall(b"x")', sock]);
      const exited = once(py, 'exit'); // before awaiting: python may exit first
      const err = await rejectionOf(received);
      await exited;
      expect(err.code).to.equal('EBADMSG');
      expect(existsSync(sock)).to.equal(false);
    });

    it('rejects without unlinking when the path is taken', async () => {
      const taken = join(dir, 'taken');
      writeFileSync(taken, 'x');
      expect((await rejectionOf(receiveFd(taken, 100))).code).to.equal('EADDRINUSE');
      expect(existsSync(taken)).to.equal(true);
    });
  });

  describe('setWindowSize', () => {
    it('throws ENOTTY on a regular file', () => {
      const fd = openSync(join(dir, 'plain'), 'w');
      try {
        expect(() => setWindowSize(fd, 24, 80)).to.throw(/TIOCSWINSZ/).with.property('code', 'ENOTTY');
      } finally {
        closeSync(fd);
      }
    });

    it('throws on a bad fd and on bad sizes', () => {
      expect(() => setWindowSize(1_000_000, 24, 80)).to.throw().with.property('code', 'EBADF');
      expect(() => setWindowSize(0, -1, 80)).to.throw(RangeError);
      expect(() => setWindowSize(0, 24, 70000)).to.throw(RangeError);
    });
  });

  describe('makeFifo', () => {
    it('makes a FIFO with the mode asked for, and says EEXIST (naming the path) when the name is taken', () => {
      const fifo = join(dir, 'out');
      makeFifo(fifo, 0o600);
      const st = lstatSync(fifo);
      expect(st.isFIFO()).to.equal(true);
      expect(st.mode & 0o777).to.equal(0o600);
      expect(() => makeFifo(fifo, 0o600)).to.throw(/mkfifo EEXIST.*out/).with.property('code', 'EEXIST');
      expect(() => makeFifo(join(dir, 'missing', 'x'), 0o600)).to.throw().with.property('code', 'ENOENT');
    });
  });
});

describe('native listXattrs', () => {
  it('returns every xattr with its raw bytes, of a symlink itself, and [] for none; ENOENT for a missing path', async () => {
    const dir = mkdtempSync(join('/var/tmp', 'ctrd-ts-xattr-'));
    try {
      const file = join(dir, 'f');
      writeFileSync(file, '');
      await execa('python3', ['-c', "import os,sys; os.setxattr(sys.argv[1], 'user.bin', bytes([0, 1, 255])); os.setxattr(sys.argv[1], 'trusted.overlay.opaque', b'y'); os.symlink(sys.argv[1], sys.argv[2])", file, join(dir, 'link')]);
      const found = new Map(listXattrs(file));
      expect(found.get('user.bin')).to.deep.equal(Buffer.from([0, 1, 255]));
      expect(found.get('trusted.overlay.opaque')?.toString()).to.equal('y');
      expect(listXattrs(join(dir, 'link'))).to.deep.equal([]);
      expect(() => listXattrs(join(dir, 'missing'))).to.throw().with.property('code', 'ENOENT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
