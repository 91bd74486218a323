import net from 'node:net';
import { unlink } from 'node:fs/promises';
import { failedPrecondition, invalidArgument, toRuntimeError } from '../errors.js';
import { parseAssignment, type ShimAssignment } from './assignment.js';
import type { InitProcess } from './init-process.js';
import { LineDecoder, type ShimEvent, type ShimMethods, type ShimRequest, type ShimResponse } from './protocol.js';

/**
 * Serves the shim protocol on a unix socket. Every connection gets every
 * event; the daemon reconnects after a restart and asks for state again.
 */
export class ShimServer {
  private readonly server = net.createServer((conn) => this.accept(conn));
  private readonly connections = new Set<net.Socket>();

  constructor(
    private readonly init: InitProcess,
    private readonly onShutdown: () => void,
    /** Serve another container in this process (shim grouping). */
    private readonly adopt: (a: ShimAssignment) => Promise<void>,
    /** Asked on `recycle`: true when the process takes `conn` to wait for its next container (it then closes this server). */
    private readonly onRecycle: (conn: net.Socket, params: ShimMethods['recycle']['params']) => boolean,
  ) {}

  async listen(socketPath: string): Promise<void> {
    await unlink(socketPath).catch(() => {});
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => resolve());
    });
  }

  broadcast(event: ShimEvent): void {
    const line = JSON.stringify(event) + '\n';
    for (const c of this.connections) c.write(line);
  }

  close(): void {
    this.server.close();
    for (const c of this.connections) c.end();
  }

  private accept(conn: net.Socket): void {
    this.connections.add(conn);
    conn.setEncoding('utf8');
    const decoder = new LineDecoder();
    const onData = (chunk: string) =>
      decoder.push(chunk, (line) => {
        const req = JSON.parse(line) as ShimRequest;
        if (req.method === 'recycle') return this.recycle(conn, onData, req as ShimRequest<'recycle'>);
        void this.handle(req).then((res) => {
          if (!conn.destroyed) conn.write(JSON.stringify(res) + '\n');
          if (req.method === 'shutdown' && !res.error) this.onShutdown();
        });
      });
    conn.on('data', onData);
    conn.on('close', () => this.connections.delete(conn));
    conn.on('error', () => this.connections.delete(conn));
  }

  /**
   * `recycle`: the connection leaves this server either way. Kept by the
   * process for its next container, or answered and ended as the process
   * shuts down. (The daemon sends nothing more on it before the answer.)
   */
  private recycle(conn: net.Socket, onData: (chunk: string) => void, req: ShimRequest<'recycle'>): void {
    conn.off('data', onData);
    this.connections.delete(conn);
    const recycled = this.onRecycle(conn, req.params);
    conn.write(JSON.stringify({ id: req.id, result: { recycled } } satisfies ShimResponse) + '\n');
    if (recycled) return;
    conn.end();
    this.onShutdown();
  }

  private async handle(req: ShimRequest): Promise<ShimResponse> {
    try {
      return { id: req.id, result: await this.dispatch(req) };
    } catch (err) {
      const e = toRuntimeError(err);
      return { id: req.id, error: { kind: e.kind, message: e.message } };
    }
  }

  private async dispatch(req: ShimRequest): Promise<unknown> {
    const init = this.init;
    switch (req.method) {
      case 'create':
        return { pid: await init.create((req as ShimRequest<'create'>).params) };
      case 'exec': {
        const p = (req as ShimRequest<'exec'>).params;
        init.addExec(p.execId, p.spec, { stdin: p.stdin, stdout: p.stdout, stderr: p.stderr, terminal: p.terminal }, (execId, exit) =>
          this.broadcast({ event: 'exit', exit, execId }),
        );
        return {};
      }
      case 'start': {
        const { execId } = (req as ShimRequest<'start'>).params;
        if (execId) return { pid: await init.exec(execId).start() };
        await init.start();
        return { pid: init.snapshot().pid };
      }
      case 'state': {
        const { execId } = (req as ShimRequest<'state'>).params;
        return execId ? init.exec(execId).state() : init.snapshot();
      }
      case 'kill': {
        const p = (req as ShimRequest<'kill'>).params;
        if (p.execId) init.exec(p.execId).kill(p.signal);
        else await init.kill(p.signal, p.all ?? false);
        return {};
      }
      case 'wait': {
        const { execId } = (req as ShimRequest<'wait'>).params;
        return execId ? init.exec(execId).wait() : init.wait();
      }
      case 'delete': {
        const { execId } = (req as ShimRequest<'delete'>).params;
        return execId ? init.deleteExec(execId) : init.delete();
      }
      case 'shutdown':
        return {};
      case 'recycle':
      case 'assign':
        // recycle is answered in accept(); assign only by a recycled shim, on its kept connection.
        throw failedPrecondition(`"${req.method}" is not served on this socket`);
      case 'pause':
        await init.pause();
        return {};
      case 'resume':
        await init.resume();
        return {};
      case 'pids':
        return { pids: await init.pids() };
      case 'adopt':
        await this.adopt(parseAssignment(JSON.stringify((req as ShimRequest<'adopt'>).params)));
        return {};
      case 'resize': {
        const p = (req as ShimRequest<'resize'>).params;
        if (!Number.isInteger(p.width) || !Number.isInteger(p.height) || p.width < 0 || p.height < 0 || p.width > 0xffff || p.height > 0xffff) {
          throw invalidArgument(`invalid terminal size ${p.width}x${p.height}`);
        }
        if (p.execId) init.exec(p.execId).resize(p.width, p.height);
        else init.resize(p.width, p.height);
        return {};
      }
      case 'closeIO': {
        const { execId } = (req as ShimRequest<'closeIO'>).params;
        if (execId) init.exec(execId).closeIO();
        else init.closeIO();
        return {};
      }
    }
  }
}
