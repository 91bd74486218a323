import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { receiveFd } from './native.js';

/** How long runc may take from start to sending the pty master. */
const CONSOLE_TIMEOUT_MS = 30_000;
/** sun_path holds 108 bytes; leave room for the terminating NUL. */
const MAX_SOCKET_PATH = 100;

/**
 * The receiving end of runc's `--console-socket`: a unix socket the shim
 * listens on, to which runc (or crun) sends the pty master of the process
 * it creates, as an SCM_RIGHTS fd. One socket per process with a terminal.
 */
export class ConsoleSocket {
  private constructor(
    readonly path: string,
    private readonly received: Promise<number>,
  ) {}

  /** Listens next to the process's bundle files, or in the temp dir when that path is too long for a socket. */
  static listen(bundle: string, name: string): ConsoleSocket {
    let socketPath = path.join(bundle, `${name}.console.sock`);
    if (socketPath.length > MAX_SOCKET_PATH) socketPath = path.join(tmpdir(), `containerd-ts-console-${randomBytes(6).toString('hex')}.sock`);
    const received = receiveFd(socketPath, CONSOLE_TIMEOUT_MS);
    received.catch(() => {}); // observed by master() or dropped by abort()
    return new ConsoleSocket(socketPath, received);
  }

  /** The pty master, once the runtime has sent it. */
  master(): Promise<number> {
    return this.received;
  }

  /** The runtime failed before sending: connect and hang up so the listener ends now, not at its timeout. */
  abort(): void {
    const c = net.createConnection(this.path);
    c.on('error', () => {});
    c.on('connect', () => c.end());
  }
}
