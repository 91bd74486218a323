import { createRequire } from 'node:module';
import type * as childProcess from 'node:child_process';
import type { DaemonClient } from './client.js';

/**
 * The CLI's own terminal while a container's terminal is attached: raw
 * mode (every key goes to the container, Ctrl-C included), restored on
 * every way out: normal return and errors (callers restore in `finally`),
 * and process.exit (an 'exit' hook). Signals do not end an attached CLI:
 * `forwardSignals` passes them to the container, whose exit ends the CLI.
 */
export class RawTerminal {
  private active = false;
  private readonly restoreOnExit = () => this.restore();

  /** Enters raw mode when stdin is a terminal; otherwise does nothing (piped input). */
  static enter(): RawTerminal {
    const t = new RawTerminal();
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      // libuv's raw mode keeps ONLCR; the container's terminal already turns \n into \r\n, and
      // curses programs moving the cursor down with \n must not be sent back to column 0.
      // setRawMode(false) restores the attributes libuv saved, ONLCR included.
      // child_process is required here, not at the top: only a raw terminal needs it, and loading it cost every command.
      const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof childProcess;
      spawnSync('stty', ['-onlcr'], { stdio: ['inherit', 'ignore', 'ignore'] });
      t.active = true;
      process.once('exit', t.restoreOnExit);
    }
    return t;
  }

  restore(): void {
    if (!this.active) return;
    this.active = false;
    process.removeListener('exit', this.restoreOnExit);
    try {
      process.stdin.setRawMode(false);
    } catch {
      // the terminal is gone (hang-up): nothing to restore
    }
  }
}

/** This terminal's size as OCI's consoleSize, when stdout is a terminal. */
export function terminalSize(): { height: number; width: number } | undefined {
  if (!process.stdout.isTTY) return undefined;
  const [width, height] = process.stdout.getWindowSize();
  return width && height ? { height, width } : undefined;
}

/** Where a resize goes: the task's init, or one of its exec processes. */
export interface PtyTarget {
  containerId: string;
  execId?: string;
}

/**
 * Sends the CLI terminal's size to the container's terminal now and after
 * every SIGWINCH (Node turns it into stdout's 'resize' event). Returns the
 * function that stops following. Does nothing when stdout is no terminal.
 */
export async function followTerminalSize(client: DaemonClient, target: PtyTarget): Promise<() => void> {
  const out = process.stdout;
  if (!out.isTTY) return () => {};
  const send = () => {
    const [width, height] = out.getWindowSize();
    if (!width || !height) return Promise.resolve();
    return client
      .call('tasks', 'ResizePty', { container_id: target.containerId, exec_id: target.execId ?? '', width, height })
      .then(() => undefined, () => undefined);
  };
  const onResize = () => void send();
  out.on('resize', onResize);
  await send();
  return () => out.removeListener('resize', onResize);
}

/**
 * Ctrl-C on an attached task without a raw terminal: the first one is
 * passed to the container as SIGINT; a second within `windowMs` means the
 * container ignores it, so the task is killed with SIGKILL.
 */
export class InterruptPolicy {
  private last: number | undefined;

  constructor(private readonly windowMs = 3000) {}

  /** What this Ctrl-C should do, given when it came (ms). */
  next(now: number): 'forward' | 'kill' {
    const kill = this.last !== undefined && now - this.last <= this.windowMs;
    this.last = now;
    return kill ? 'kill' : 'forward';
  }
}

/** Signals an attached CLI passes on to its process (SIGINT has its own rule; see handleInterrupts). */
const FORWARDED: Array<[NodeJS.Signals, number]> = [['SIGTERM', 15], ['SIGHUP', 1], ['SIGQUIT', 3], ['SIGUSR1', 10], ['SIGUSR2', 12]];

/**
 * Passes the signals a user or a hang-up sends to the CLI on to the
 * container process, as ctr does: the CLI then ends with the process (and
 * cleans up, terminal restored) instead of dying and leaving it behind.
 */
export function forwardSignals(client: DaemonClient, target: PtyTarget): () => void {
  const handlers = FORWARDED.map(([name, signal]) => {
    const handler = () =>
      void client.call('tasks', 'Kill', { container_id: target.containerId, exec_id: target.execId ?? '', signal, all: false }).catch(() => {});
    process.on(name, handler);
    return [name, handler] as const;
  });
  return () => handlers.forEach(([name, handler]) => process.removeListener(name, handler));
}

/** Installs the double Ctrl-C rule for a task (or one of its execs); returns the uninstaller. */
export function handleInterrupts(client: DaemonClient, target: PtyTarget, policy = new InterruptPolicy()): () => void {
  const onSigint = () => {
    const action = policy.next(Date.now());
    const signal = action === 'kill' ? 9 : 2;
    if (action === 'kill') process.stderr.write(`ctr-ts: second Ctrl-C: killing ${target.execId ? `exec ${target.execId}` : `task ${target.containerId}`} with SIGKILL\n`);
    void client
      .call('tasks', 'Kill', { container_id: target.containerId, exec_id: target.execId ?? '', signal, all: action === 'kill' && !target.execId })
      .catch(() => {});
  };
  process.on('SIGINT', onSigint);
  return () => process.removeListener('SIGINT', onSigint);
}
