import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RuntimeError, type ErrorKind } from '../errors.js';

/** How the shim invokes the OCI runtime binary (runc or crun, same CLI). */
export interface RuntimeOptions {
  binary: string;
  /** runc --root: per-namespace state so ids in two namespaces do not clash. */
  root: string;
  systemdCgroup: boolean;
}

/**
 * A thin wrapper over the runc command line, in the shim. Uses
 * child_process directly (not execa) to keep the per-container shim small.
 * runc's own errors are read from its JSON log (`--log`), the way
 * containerd's go-runc reports them.
 */
export class Runc {
  constructor(private readonly opts: RuntimeOptions) {}

  /** Whether cgroups are systemd's (--systemd-cgroup): the scope's own cgroup is then systemd's to remove. */
  get systemdDriver(): boolean {
    return this.opts.systemdCgroup;
  }

  /** runc's state directory for `id` (see runc-direct.ts); undefined for another runtime, whose layout differs. */
  stateDir(id: string): string | undefined {
    return path.basename(this.opts.binary) === 'runc' ? path.join(this.opts.root, id) : undefined;
  }

  /** `runc create`: sets up the container and leaves init waiting for start. */
  async create(id: string, bundle: string, stdio: [number, number, number], consoleSocket?: string): Promise<number> {
    const pidFile = path.join(bundle, 'init.pid');
    await this.run(['create', '--bundle', bundle, '--pid-file', pidFile, ...consoleArgs(consoleSocket), id], bundle, stdio);
    return Number(readFileSync(pidFile, 'utf8').trim()); // a few bytes on tmpfs: no pool round trip
  }

  /** `runc exec --detach`: starts `process.json` in the container; its pid lands in `pidFile`. */
  async exec(id: string, bundle: string, processFile: string, pidFile: string, stdio: [number, number, number], consoleSocket?: string): Promise<void> {
    await this.run(['exec', '--detach', '--process', processFile, '--pid-file', pidFile, ...consoleArgs(consoleSocket), id], bundle, stdio);
  }

  async start(id: string, bundle: string): Promise<void> {
    await this.run(['start', id], bundle);
  }

  async kill(id: string, bundle: string, signal: number, all: boolean): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)], bundle);
  }

  async pause(id: string, bundle: string): Promise<void> {
    await this.run(['pause', id], bundle);
  }

  async resume(id: string, bundle: string): Promise<void> {
    await this.run(['resume', id], bundle);
  }

  /** The host pids of every process in the container (`runc ps --format json`). */
  async pids(id: string, bundle: string): Promise<number[]> {
    const out = await this.run(['ps', '--format', 'json', id], bundle, undefined, true);
    return (JSON.parse(out || '[]') as number[]) ?? [];
  }

  async delete(id: string, bundle: string, force: boolean): Promise<void> {
    await this.run(['delete', ...(force ? ['--force'] : []), id], bundle);
  }

  private globalArgs(bundle: string): string[] {
    return [
      '--root', this.opts.root,
      '--log', path.join(bundle, 'runc.log'), '--log-format', 'json',
      ...(this.opts.systemdCgroup ? ['--systemd-cgroup'] : []),
    ];
  }

  /**
   * Runs one runc command. `inherit` fds become the command's stdio (so the
   * container init inherits them); otherwise stdio is ignored.
   */
  private run(args: string[], bundle: string, inherit?: [number, number, number], captureStdout = false): Promise<string> {
    const env = { ...process.env };
    // With NOTIFY_SOCKET set, `runc create` waits for the container to notify: never what we want.
    delete env.NOTIFY_SOCKET;
    const child = spawn(this.opts.binary, [...this.globalArgs(bundle), ...args], {
      env,
      stdio: inherit ?? ['ignore', captureStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    return new Promise((resolve, reject) => {
      child.once('error', (err) => reject(new RuntimeError('Unavailable', `cannot run ${this.opts.binary}: ${err.message}`, { cause: err })));
      child.once('close', (code, signal) => {
        if (code === 0) return resolve(stdout);
        void lastRuncError(bundle).then((logged) => {
          const message = logged ?? (stderr.trim() || `exit ${code ?? signal}`);
          const prefix = `${this.opts.binary} ${args[0]} failed: `;
          const text = message.startsWith(prefix) ? message : prefix + message;
          reject(new RuntimeError(classify(message), text, { fields: { runtime: this.opts.binary } }));
        });
      });
    });
  }
}

/** With a terminal, runc (and crun) send the pty master to this socket; the process's `terminal` must be true. */
function consoleArgs(socket: string | undefined): string[] {
  return socket ? ['--console-socket', socket] : [];
}

/** The last error-level message runc wrote to its JSON log, if any. */
async function lastRuncError(bundle: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(bundle, 'runc.log'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) return entry.msg;
    } catch {
      // runc writes plain lines before the JSON logger is set up; skip them.
    }
  }
  return undefined;
}

function classify(message: string): ErrorKind {
  if (/executable file not found|no such file or directory/i.test(message)) return 'InvalidArgument';
  if (/container does not exist/i.test(message)) return 'NotFound';
  if (/already exists/i.test(message)) return 'AlreadyExists';
  if (/not running|is stopped|cannot .* in state/i.test(message)) return 'FailedPrecondition';
  return 'Internal';
}
