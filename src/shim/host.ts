import { closeSync, openSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { failedPrecondition, toRuntimeError } from '../errors.js';
import { parseAssignment, type ShimAssignment } from './assignment.js';
import { enterHome, STANDBY_TITLE } from './home.js';
import { InitProcess } from './init-process.js';
import { LineDecoder, type ShimRequest, type ShimResponse } from './protocol.js';
import { duplicateFd } from './native.js';
import { Runc } from './runc.js';
import { ShimServer } from './server.js';

/**
 * A recycled shim serves at most this many containers in its life, and only
 * while its resident memory is below the second figure (a fresh shim idles
 * at ~45 MB; one that copied a lot of output holds more heap), so a long
 * line of reuse cannot accumulate what a fresh process would not have.
 */
const RECYCLE_MAX_CONTAINERS = 100;
const RECYCLE_MAX_RSS_BYTES = 80 * 1024 * 1024;

/**
 * The containers one shim process serves: one, or several when the daemon
 * groups containers into one shim (label io.containerd.runc.v2.group, like
 * containerd's runc v2 shim). Each container has its own socket in its
 * bundle, its own init and exec processes; the process ends when the last
 * one is shut down.
 *
 * A shim that served a single container can instead be recycled when that
 * container is deleted: the daemon keeps its connection and later hands it
 * the next container, which then costs no Node start-up and finds the
 * shim's code already compiled and optimised.
 */
export class ShimHost {
  private readonly served = new Map<string, ShimServer>();
  private containersServed = 0;
  private grouped = false;

  constructor(private readonly log: (msg: string) => void) {}

  /** Starts serving `a` on `<bundle>/shim.sock`. */
  async serve(a: ShimAssignment): Promise<void> {
    const key = `${a.namespace}/${a.id}`;
    if (this.served.has(key)) throw new Error(`already serving ${key}`);
    const runc = new Runc({ binary: a.runtime, root: a.runtimeRoot, systemdCgroup: a.systemdCgroup });
    let server: ShimServer | undefined;
    const init = new InitProcess(a.id, a.bundle, runc, (exit) => server?.broadcast({ event: 'exit', exit }));
    server = new ShimServer(init, () => this.shutDown(key), (next) => this.serve(next), (conn, params) => this.recycle(key, conn, params.log));
    await server.listen(path.join(a.bundle, 'shim.sock'));
    writeFileSync(path.join(a.bundle, 'shim.pid'), String(process.pid));
    this.served.set(key, server);
    this.containersServed++;
    if (a.group) this.grouped = true;
    this.log(`serving ${key} in ${a.bundle}${a.group ? ` (group ${a.group.name})` : ''}`);
  }

  private shutDown(key: string): void {
    this.served.get(key)?.close();
    this.served.delete(key);
    this.log(`stopped serving ${key}`);
    if (this.served.size > 0) return;
    // The tasks are deleted, so their stdio is closed (no FIFO open is ever
    // parked in libuv's pool: they are non-blocking). Give the last response
    // a moment to flush.
    setTimeout(() => process.exit(0), 10);
  }

  /**
   * Stops serving `key` and, when this process may serve again, waits on
   * `conn` for the next container instead of exiting, its stderr moved to
   * `standbyLog` (the old bundle's shim.log goes with the bundle). A group's
   * shim is never recycled (its directory and scope belong to the group).
   */
  private recycle(key: string, conn: net.Socket, standbyLog: string): boolean {
    const fit = !this.grouped && this.served.size === 1 && this.served.has(key)
      && this.containersServed < RECYCLE_MAX_CONTAINERS && process.memoryUsage.rss() < RECYCLE_MAX_RSS_BYTES;
    if (!fit) return false;
    this.log(`stopped serving ${key}; to be recycled`);
    if (!redirectStderr(standbyLog)) return false;
    this.served.get(key)!.close();
    this.served.delete(key);
    process.chdir('/');
    process.title = STANDBY_TITLE;
    this.log(`recycled after ${this.containersServed} container(s): waiting for the next`);
    awaitNextContainer(conn, async (a) => {
      enterHome(a, standbyLog);
      await this.serve(a);
    });
    return true;
  }
}

/** Points stderr (the shim's log) at `file`; false when it cannot be opened (the shim then shuts down instead). */
function redirectStderr(file: string): boolean {
  if (!path.isAbsolute(file)) return false;
  let fd: number;
  try {
    fd = openSync(file, 'a', 0o600);
  } catch {
    return false;
  }
  try {
    duplicateFd(fd, 2);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * A recycled shim's wait: `assign` on the daemon's kept connection, once.
 * The daemon going away first (the connection closes) ends the process, as
 * a fresh standby ends when its stdin closes.
 */
function awaitNextContainer(conn: net.Socket, serve: (a: ShimAssignment) => Promise<void>): void {
  const decoder = new LineDecoder();
  let assigned = false;
  conn.on('data', (chunk: string) =>
    decoder.push(chunk, (line) => {
      const req = JSON.parse(line) as ShimRequest;
      const answer = async (): Promise<ShimResponse> => {
        if (req.method !== 'assign' || assigned) throw failedPrecondition(`a recycled shim waiting for a container takes one "assign", not "${req.method}"`);
        assigned = true;
        await serve(parseAssignment(JSON.stringify(req.params)));
        return { id: req.id, result: {} };
      };
      void answer()
        .catch((err: unknown) => {
          const e = toRuntimeError(err);
          return { id: req.id, error: { kind: e.kind, message: e.message } };
        })
        .then((res) => {
          if (!conn.destroyed) conn.write(JSON.stringify(res) + '\n');
        });
    }),
  );
  conn.on('close', () => {
    if (!assigned) process.exit(0);
  });
}
