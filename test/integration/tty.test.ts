import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { DaemonClient } from '../../src/cli/client.js';
import { isRuntimeError } from '../../src/errors.js';
import { TYPE_URLS } from '../../src/proto.js';
import { BUSYBOX, BUSYBOX_ARCHIVE, CTR_TS, REPO, SOCKET, closeBus, ctrTs, eventually, leftovers, sh, systemdAvailable } from './helpers.js';

const PTY_RUN = path.join(REPO, 'test/integration/pty-run.py');
const CONFIG = '/etc/containerd-ts/config.toml';
const LOGS = '/var/lib/containerd-ts/logs/default';

type PtyStep = { wait: string } | { send: string } | { resize: [number, number] } | { sleep: number } | { mode: string } | { signal: number };
interface PtyResult {
  output: string;
  exitCode: number | null;
  modes: Record<string, 'raw' | 'cooked'>;
  restored: boolean | null;
  error?: string;
}

/** Runs argv on a real pseudo-terminal of the given size, driven by `steps` (see pty-run.py). */
async function onPty(argv: string[], opts: { rows?: number; cols?: number; steps?: PtyStep[] } = {}): Promise<PtyResult> {
  const cfg = { argv, rows: opts.rows ?? 24, cols: opts.cols ?? 80, steps: opts.steps ?? [], timeout: 90 };
  const r = await execa('python3', [PTY_RUN, JSON.stringify(cfg)], { reject: false, timeout: 120_000 });
  const result = JSON.parse(r.stdout) as PtyResult;
  expect(result.error, `${result.error}\n${result.output}`).to.equal(undefined);
  return result;
}

/** Terminal output with CRs dropped, so lines compare as text. */
const lines = (s: string) => s.replace(/\r/g, '').split('\n');

/**
 * Terminals, stdin, attach and log rotation against the real daemon,
 * runc and ctr: the CLI runs on a real pseudo-terminal (python's pty
 * module), whose size and mode the tests set and read back.
 */
describe('terminals, stdin, attach and logs (integration)', function () {
  before(async function () {
    if (!systemdAvailable()) this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
  });
  after(() => closeBus());

  it('run -t -i: a real tty, its size from the outer terminal and after a resize, raw mode while attached and restored after, the exit code', async () => {
    const script = 'tty; stty size; read x; echo got:$x; i=0; while [ "$(stty size)" != "40 120" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; stty size; exit 7';
    const r = await onPty([CTR_TS, 'run', '--rm', '-t', '-i', BUSYBOX, 'tty-1', 'sh', '-c', script], {
      rows: 30, cols: 100,
      steps: [{ wait: '30 100' }, { mode: 'attached' }, { resize: [40, 120] }, { send: 'go\r' }],
    });
    const out = lines(r.output);
    expect(out[0]).to.match(/^\/dev\/pts\/\d+$/);
    expect(out).to.include('30 100');
    expect(out).to.include('got:go');
    expect(out).to.include('40 120');
    expect(r.exitCode).to.equal(7);
    expect(r.modes.attached).to.equal('raw');
    expect(r.restored).to.equal(true);
    expect(await leftovers('tty-1')).to.deep.equal([]);
  });

  it('run -t without -i: a tty, no stdin, the exit code, the terminal left as it was', async () => {
    const r = await onPty([CTR_TS, 'run', '--rm', '-t', BUSYBOX, 'tty-2', 'sh', '-c', 'tty; stty size; exit 3'], { rows: 33, cols: 91 });
    expect(lines(r.output).slice(0, 2)).to.deep.equal([lines(r.output)[0], '33 91']);
    expect(lines(r.output)[0]).to.match(/^\/dev\/pts\/\d+$/);
    expect(r.exitCode).to.equal(3);
    expect(r.restored).to.equal(true);
  });

  it('run -t -i: a SIGHUP to the CLI goes to the container, whose exit ends the CLI with the terminal restored', async () => {
    const script = 'trap "echo got-hup; exit 3" HUP; echo ready; while true; do sleep 0.1; done';
    const r = await onPty([CTR_TS, 'run', '--rm', '-t', '-i', BUSYBOX, 'tty-hup', 'sh', '-c', script], {
      steps: [{ wait: 'ready' }, { mode: 'attached' }, { signal: 1 }],
    });
    expect(lines(r.output)).to.include('got-hup');
    expect(r.exitCode).to.equal(3);
    expect(r.modes.attached).to.equal('raw');
    expect(r.restored).to.equal(true);
    expect(await leftovers('tty-hup')).to.deep.equal([]);
  });

  it('run -t -i with piped stdin: its end reaches the container as end of input (EOF character)', async () => {
    const r = await ctrTs(['run', '--rm', '-t', '-i', BUSYBOX, 'tty-pipe', 'sh', '-c', 'cat >/dev/null; echo finished'], { input: 'one\ntwo\n' });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('finished');
  });

  it('run -i with piped stdin: the container reads it to its end (CloseIO) and exits', async () => {
    const r = await ctrTs(['run', '--rm', '-i', BUSYBOX, 'stdin-1', 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('line one\nline two\ndone');
    expect(await leftovers('stdin-1')).to.deep.equal([]);
  });

  it('run without -i attaches no stdin (the container reads EOF at once)', async () => {
    const r = await ctrTs(['run', '--rm', BUSYBOX, 'stdin-2', 'sh', '-c', 'cat; echo eof'], { input: 'ignored\n' });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('eof');
  });

  it('run (no -t): the first Ctrl-C is passed on, a second kills a container that ignores SIGINT', async () => {
    const r = await onPty([CTR_TS, 'run', '--rm', BUSYBOX, 'trap-1', 'sh', '-c', 'trap "" INT; echo ready; sleep 300'], {
      steps: [{ wait: 'ready' }, { send: '\u0003' }, { sleep: 0.5 }, { send: '\u0003' }],
    });
    expect(r.exitCode).to.equal(137);
    expect(r.output).to.contain('second Ctrl-C');
    expect(await leftovers('trap-1')).to.deep.equal([]);
  });

  describe('with a running container', () => {
    const id = 'tty-exec-1';
    before(async () => {
      expect((await ctrTs(['run', '-d', BUSYBOX, id, 'sleep', '300'])).exitCode).to.equal(0);
    });
    after(async () => {
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await eventually(async () => (await ctrTs(['tasks', 'rm', id])).exitCode === 0);
      await ctrTs(['containers', 'rm', id]);
    });

    it('tasks exec -t -i: a tty of the outer size, stdin through it, the exit code', async () => {
      const r = await onPty([CTR_TS, 'tasks', 'exec', '-t', '-i', id, 'sh', '-c', 'tty; stty size; read x; echo got:$x; exit 4'], {
        rows: 25, cols: 90, steps: [{ wait: '25 90' }, { mode: 'attached' }, { send: 'hey\r' }],
      });
      const out = lines(r.output);
      expect(out[0]).to.match(/^\/dev\/pts\/\d+$/);
      expect(out).to.include('25 90');
      expect(out).to.include('got:hey');
      expect(r.exitCode).to.equal(4);
      expect(r.modes.attached).to.equal('raw');
      expect(r.restored).to.equal(true);
    });

    it('ResizePty on a task without a terminal: FailedPrecondition, the task still running', async () => {
      const client = new DaemonClient(SOCKET, 'default');
      try {
        const err = await client.call('tasks', 'ResizePty', { container_id: id, exec_id: '', width: 80, height: 24 }).then(() => undefined, (e: unknown) => e);
        expect(isRuntimeError(err, 'FailedPrecondition'), String(err)).to.equal(true);
        expect(String((err as Error).message)).to.contain('no terminal');
        const bad = await client.call('tasks', 'ResizePty', { container_id: id, exec_id: '', width: 0, height: 24 }).then(() => undefined, (e: unknown) => e);
        expect(isRuntimeError(bad, 'InvalidArgument'), String(bad)).to.equal(true);
        const { process: proc } = await client.call('tasks', 'Get', { container_id: id, exec_id: '' });
        expect(proc?.status).to.equal('RUNNING');
        // An exec asking for a terminal its process spec does not have: refused before anything runs.
        const spec = { type_url: TYPE_URLS.process, value: Buffer.from(JSON.stringify({ args: ['true'], cwd: '/', env: [], user: { uid: 0, gid: 0 }, terminal: false })) };
        const mismatch = await client.call('tasks', 'Exec', { container_id: id, exec_id: 'mismatch', terminal: true, stdin: '', stdout: '', stderr: '', spec }).then(() => undefined, (e: unknown) => e);
        expect(isRuntimeError(mismatch, 'InvalidArgument'), String(mismatch)).to.equal(true);
        const noExec = await client.call('tasks', 'ResizePty', { container_id: id, exec_id: 'mismatch', width: 80, height: 24 }).then(() => undefined, (e: unknown) => e);
        expect(isRuntimeError(noExec, 'NotFound'), String(noExec)).to.equal(true);
      } finally {
        client.close();
      }
    });

    it('the real ctr: tasks exec -t gets a tty', async () => {
      const r = await onPty(['ctr', '--address', SOCKET, 'tasks', 'exec', '-t', '--exec-id', 'ctr-exec-tty', id, 'sh', '-c', 'tty; exit 6']);
      expect(lines(r.output)[0]).to.match(/^\/dev\/pts\/\d+$/);
      expect(r.exitCode).to.equal(6);
    });
  });

  it("the real ctr: run -t gets a tty and passes the exit code through", async () => {
    const r = await onPty(['ctr', '--address', SOCKET, 'run', '--rm', '-t', BUSYBOX, 'ctr-tty-1', 'sh', '-c', 'tty; exit 5'], { rows: 20, cols: 70 });
    expect(lines(r.output)[0]).to.match(/^\/dev\/pts\/\d+$/);
    expect(r.exitCode).to.equal(5);
    expect(r.restored).to.equal(true);
    expect(await leftovers('ctr-tty-1')).to.deep.equal([]);
  });

  it('tasks attach: follows a detached task, feeds its stdin (created with -i), ends with its exit code', async () => {
    const id = 'attach-1';
    const script = 'echo before; while read l; do echo "echo:$l"; done; echo bye; exit 5';
    expect((await ctrTs(['run', '-d', '-i', BUSYBOX, id, 'sh', '-c', script])).exitCode).to.equal(0);
    expect(await eventually(async () => (await ctrTs(['logs', id])).stdout === 'before')).to.equal(true);
    const r = await ctrTs(['tasks', 'attach', id], { input: 'a\nb\n' });
    expect(r.exitCode, r.stderr).to.equal(5);
    expect(r.stdout).to.equal('echo:a\necho:b\nbye'); // output that follows the attach, not what came before
    expect((await ctrTs(['logs', id])).stdout).to.equal('before\necho:a\necho:b\nbye');
    expect((await ctrTs(['tasks', 'rm', id])).exitCode).to.equal(0);
    const fifoDirs = (await sh('sh', ['-c', `ls -d /run/containerd-ts/fifo/${id}-* 2>/dev/null || true`])).stdout;
    expect(fifoDirs, 'stdin FIFO left after the task was deleted').to.equal('');
    expect((await ctrTs(['containers', 'rm', id])).exitCode).to.equal(0);
    expect(await leftovers(id)).to.deep.equal([]);
  });

  it('the real ctr tasks attach follows a ctr run -d task through the FIFOs ctr left (the shim keeps writing them)', async () => {
    const id = 'ctr-attach-1';
    const ticker = 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done';
    expect((await execa('ctr', ['--address', SOCKET, 'run', '-d', BUSYBOX, id, 'sh', '-c', ticker], { reject: false })).exitCode).to.equal(0);
    try {
      await new Promise((r) => setTimeout(r, 1500)); // some ticks go out before anyone reads the FIFO
      const attach = execa('ctr', ['--address', SOCKET, 'tasks', 'attach', id], { reject: false });
      let seen = '';
      attach.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
      const ticks = () => [...seen.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
      expect(await eventually(async () => ticks().length >= 3, 5000), `attach saw: ${JSON.stringify(seen)}`).to.equal(true);
      attach.kill('SIGKILL'); // ctr passes SIGTERM/SIGINT on to the container
      await attach;
      const n = ticks();
      expect(n.every((t, i) => i === 0 || t === n[i - 1]! + 1), `consecutive ticks: ${n.join(',')}`).to.equal(true);
    } finally {
      await execa('ctr', ['--address', SOCKET, 'tasks', 'kill', '-s', 'SIGKILL', id], { reject: false });
      await eventually(async () => /STOPPED/.test((await ctrTs(['tasks', 'ls'])).stdout));
      await execa('ctr', ['--address', SOCKET, 'tasks', 'rm', id], { reject: false });
      await execa('ctr', ['--address', SOCKET, 'containers', 'rm', id], { reject: false });
    }
    expect(await leftovers(id)).to.deep.equal([]);
  });

  it('tasks attach on a task whose output went to its client: a clear error', async () => {
    const id = 'attach-2';
    const running = execa(CTR_TS, ['run', '--rm', BUSYBOX, id, 'sleep', '300'], { reject: false });
    try {
      expect(await eventually(async () => /attach-2\s+\d+\s+RUNNING/.test((await ctrTs(['tasks', 'ls'])).stdout))).to.equal(true);
      const r = await ctrTs(['tasks', 'attach', id]);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.contain('tasks attach works on tasks started with -d');
    } finally {
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await running;
    }
    expect(await leftovers(id)).to.deep.equal([]);
  });

  describe('log rotation (config [logs] max_size = 4096, max_files = 2)', () => {
    const id = 'rotate-1';
    before(async function () {
      this.timeout(120_000);
      writeFileSync(CONFIG, '[logs]\nmax_size = "4K"\nmax_files = 2\n');
      expect((await sh('systemctl', ['restart', 'containerd-ts'])).exitCode).to.equal(0);
    });
    after(async function () {
      this.timeout(120_000);
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await ctrTs(['tasks', 'rm', id]);
      await ctrTs(['containers', 'rm', id]);
      rmSync(CONFIG, { force: true });
      await sh('systemctl', ['restart', 'containerd-ts']);
    });

    it('keeps the live log and two rotated files of at most 4 KiB; logs -f follows across every rotation', async () => {
      // ~18 KB in bursts, so the file rotates several times while logs -f follows it.
      const script = 'i=1; while [ $i -le 400 ]; do echo "line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; [ $((i % 20)) = 0 ] && sleep 0.2; i=$((i+1)); done';
      expect((await ctrTs(['run', '-d', BUSYBOX, id, 'sh', '-c', script])).exitCode).to.equal(0);
      const followed = await ctrTs(['logs', '-f', id]);
      const expected = Array.from({ length: 400 }, (_, i) => `line-${i + 1}-${'x'.repeat(36)}`);
      expect(followed.stdout.split('\n')).to.deep.equal(expected);

      const live = path.join(LOGS, `${id}.log`);
      for (const f of [live, `${live}.1`, `${live}.2`]) {
        expect(existsSync(f), f).to.equal(true);
        expect(statSync(f).size, f).to.be.at.most(4096);
      }
      expect(existsSync(`${live}.3`)).to.equal(false);
      // Without -f: the kept history, oldest first, contiguous up to the last line.
      const kept = (await ctrTs(['logs', id])).stdout.split('\n');
      expect(kept.at(-1)).to.equal(expected.at(-1));
      const first = expected.indexOf(kept[0]!);
      expect(first).to.be.greaterThan(0);
      expect(kept).to.deep.equal(expected.slice(first));
      expect(readFileSync(`${live}.2`, 'utf8').length).to.be.greaterThan(0);
    });
  });
});
