import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, read, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isRuntimeError } from '../../src/errors.js';
import { ProcessIO } from '../../src/shim/process-io.js';

const readFd = promisify(read);

/** ProcessIO with real pipes, FIFOs and files; the "container" is this test writing and reading the runtime's fds. */
describe('shim/process-io', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync('/var/tmp/ctrd-ts-pio-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a log file target: output goes through the shim into the log, and drained() ends when the writer closes', async () => {
    const log = path.join(dir, 'c.log');
    const io = await ProcessIO.open({ stdout: log, stderr: log }, dir, 'init', { maxBytes: 4096, keep: 1 });
    const [, out, err] = io.runtimeStdio;
    expect(out).to.equal(err); // one pipe: stdout and stderr keep their order
    // The "container" holds its own copy of the write end; the shim's copy goes at created().
    const containerOut = openSync(`/proc/self/fd/${out}`, constants.O_WRONLY);
    await io.created();
    writeSync(containerOut, 'hello\n');
    closeSync(containerOut);
    await io.drained(10_000);
    expect(readFileSync(log, 'utf8')).to.equal('hello\n');
    io.closeAll();
  });

  it('stdin FIFO: opened without waiting for a client, copied into the process, ended only by CloseIO', async () => {
    const fifo = path.join(dir, 'stdin');
    execFileSync('mkfifo', [fifo]);
    const io = await ProcessIO.open({ stdin: fifo }, dir, 'init');
    const containerIn = openSync(`/proc/self/fd/${io.runtimeStdio[0]}`, constants.O_RDONLY);
    await io.created();
    const client = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(client, 'abc');
    closeSync(client); // a client leaving is not the end of stdin
    const buf = Buffer.alloc(16);
    expect((await readFd(containerIn, buf, 0, 16, null)).bytesRead).to.equal(3);
    expect(buf.subarray(0, 3).toString()).to.equal('abc');
    io.closeStdin();
    expect((await readFd(containerIn, buf, 0, 16, null)).bytesRead).to.equal(0);
    closeSync(containerIn);
    io.closeAll();
  });

  it('resize without a terminal: FailedPrecondition naming the process', async () => {
    const io = await ProcessIO.open({}, dir, 'init');
    await io.created();
    let err: unknown;
    try {
      io.resize(80, 24, 'task c1');
    } catch (e) {
      err = e;
    }
    expect(isRuntimeError(err, 'FailedPrecondition'), String(err)).to.equal(true);
    expect((err as Error).message).to.contain('task c1 has no terminal');
    io.closeAll();
  });
});
