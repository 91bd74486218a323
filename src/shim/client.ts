import net from 'node:net';
import path from 'node:path';
import { RuntimeError, unavailable } from '../errors.js';
import { LineDecoder, type ExitInfo, type ShimEvent, type ShimMethod, type ShimMethods, type ShimResponse } from './protocol.js';

/** What the daemon needs of a shim: typed calls, exit events, and word when it goes away. */
export interface ShimConnection {
  call<M extends ShimMethod>(method: M, params: ShimMethods[M]['params']): Promise<ShimMethods[M]['result']>;
  onExit(listener: (exit: ExitInfo) => void): () => void;
  /** Exits of exec processes. */
  onExecExit(listener: (execId: string, exit: ExitInfo) => void): void;
  /** Called once if the connection drops without `close()` (the shim died). */
  onLost(listener: () => void): void;
  close(): void;
}

/** The daemon's end of one shim connection: typed calls and exit events. */
export class ShimClient implements ShimConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exitListeners = new Set<(exit: ExitInfo) => void>();
  private execExitListener: ((execId: string, exit: ExitInfo) => void) | undefined;
  private closed = false;
  private lostListener: (() => void) | undefined;
  /** The shim's pid (0 when not known: a reconnected shim that left no shim.pid). */
  pid = 0;

  private constructor(
    private readonly socket: net.Socket,
    readonly bundle: string,
  ) {
    const decoder = new LineDecoder();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => decoder.push(chunk, (line) => this.receive(line)));
    socket.on('close', () => {
      const unexpected = !this.closed;
      this.fail(unavailable(`connection to shim in ${bundle} closed`));
      if (unexpected) this.lostListener?.();
    });
    socket.on('error', () => {});
  }

  /** Connects to the shim serving in `bundle` (also used to reconnect after a daemon restart). */
  static connect(bundle: string): Promise<ShimClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path.join(bundle, 'shim.sock'));
      socket.once('connect', () => resolve(new ShimClient(socket, bundle)));
      socket.once('error', (err) => reject(unavailable(`cannot connect to shim in ${bundle}: ${err.message}`, { cause: err })));
    });
  }

  call<M extends ShimMethod>(method: M, params: ShimMethods[M]['params']): Promise<ShimMethods[M]['result']> {
    if (this.closed) return Promise.reject(unavailable(`connection to shim in ${this.bundle} is closed`));
    const id = this.nextId++;
    this.socket.write(JSON.stringify({ id, method, params }) + '\n');
    return new Promise((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  onExit(listener: (exit: ExitInfo) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  onLost(listener: () => void): void {
    this.lostListener = listener;
  }

  onExecExit(listener: (execId: string, exit: ExitInfo) => void): void {
    this.execExitListener = listener;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private receive(line: string): void {
    const msg = JSON.parse(line) as ShimResponse | ShimEvent;
    if ('event' in msg) {
      if (msg.execId) this.execExitListener?.(msg.execId, msg.exit);
      else for (const l of this.exitListeners) l(msg.exit);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) p.reject(new RuntimeError(msg.error.kind, msg.error.message));
    else p.resolve(msg.result);
  }

  private fail(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
