import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { unavailable } from '../errors.js';
import type { ShimAssignment } from './assignment.js';
import { ShimClient } from './client.js';
import { READY_TIMEOUT_MS, type ShimStartOptions, type StandbyShim } from './standby.js';

/**
 * The shim's program: the build's one-file bundle (dist/containerd-ts-shim.cjs;
 * tsc's ES modules, as a fallback, load ~25 ms of CPU slower per shim). Found
 * from the package root: the daemon may itself run from its bundle.
 */
const SHIM_MAIN = ((root) => [join(root, 'dist', 'containerd-ts-shim.cjs'), join(root, 'dist', 'src', 'shim', 'main.js')].find((f) => existsSync(f))!)(packageRoot(import.meta.url));

/**
 * Environment for the shim and everything it starts: nothing of the
 * daemon's. In particular no NODE_EXTRA_CA_CERTS (makes every Node start
 * parse the whole CA bundle) and no NOTIFY_SOCKET (runc would wait on it).
 */
function shimEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
}

/**
 * A new shim process from spawn to assignment: its stdout read as lines
 * ("standby", then "ready" or "error: ..."). `place` moves it where shims
 * live as soon as it exists, while it still loads.
 */
export class FreshShim implements StandbyShim {
  readonly ready: Promise<void>;
  readonly placed: Promise<void>;
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private waiter: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  private ended: Error | undefined;
  /** The process exited (or never started) before it said "ready". */
  died = false;

  constructor(
    private readonly logFile: string,
    place: (pid: number) => Promise<void>,
  ) {
    const logFd = openSync(logFile, 'a', 0o600);
    // No V8 flags: any heap flag changes V8's flag hash, so Node's built-in
    // code cache no longer fits and every internal module the shim loads is
    // compiled from source (~30 ms more CPU per shim, for no smaller idle RSS).
    const args = [SHIM_MAIN, '--log', logFile];
    this.child = spawn(process.execPath, args, { cwd: '/', detached: true, env: shimEnv(), stdio: ['pipe', 'pipe', logFd] });
    closeSync(logFd);
    // A waiting shim must not keep the daemon's event loop alive, nor die with a broken pipe unseen.
    this.child.unref();
    (this.child.stdin as net.Socket).unref();
    (this.child.stdout as net.Socket).unref();
    this.child.stdin!.on('error', () => {});
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        this.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    this.child.once('exit', (code, signal) => {
      this.died = true;
      this.end(unavailable(`shim exited (${signal ?? `status ${code}`}) before it was ready; see its log`));
    });
    this.child.once('error', (err) => {
      this.died = true;
      this.end(unavailable(`cannot start shim: ${err.message}`, { cause: err }));
    });
    this.ready = this.nextLine().then((line) => {
      if (line !== 'standby') throw unavailable(`shim failed to start: ${line}`);
    });
    this.ready.catch(() => this.discard());
    this.placed = this.child.pid ? place(this.child.pid) : this.ready;
    this.placed.catch(() => undefined); // reported by whoever assigns it
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Hands the shim its container and connects to it once it serves. */
  async assign(opts: ShimStartOptions): Promise<ShimClient> {
    // One bound for the whole start: a fresh shim still loading, then serving.
    const timer = setTimeout(() => this.end(unavailable(`shim for ${opts.id} did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    try {
      await this.ready;
      const assignment: ShimAssignment = { ...opts, systemdCgroup: true };
      this.child.stdin!.end(JSON.stringify(assignment) + '\n');
      const line = await this.nextLine().catch((err: Error) => {
        throw unavailable(`${err.message.replace('its log', `${opts.bundle}/shim.log`)}`, { cause: err });
      });
      if (line !== 'ready') throw unavailable(`shim for ${opts.id} failed to start: ${line.replace(/^error: /, '')}`);
    } catch (err) {
      this.child.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    this.child.stdout!.destroy();
    this.child.removeAllListeners('exit');
    const client = await ShimClient.connect(opts.bundle);
    client.pid = this.pid;
    return client;
  }

  /** Kills a shim that was never assigned and removes its log. */
  discard(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    rmSync(this.logFile, { force: true });
  }

  private push(line: string): void {
    if (this.waiter) {
      this.waiter.resolve(line);
      this.waiter = undefined;
    } else this.lines.push(line);
  }

  private end(err: Error): void {
    this.ended ??= err;
    this.waiter?.reject(err);
    this.waiter = undefined;
  }

  private nextLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}
