import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ShimAssignment } from './assignment.js';
import { InitProcess } from './init-process.js';
import { Runc } from './runc.js';
import { ShimServer } from './server.js';

/**
 * The containers one shim process serves: one, or several when the daemon
 * groups containers into one shim (label io.containerd.runc.v2.group, like
 * containerd's runc v2 shim). Each container has its own socket in its
 * bundle, its own init and exec processes; the process ends when the last
 * one is shut down.
 */
export class ShimHost {
  private readonly served = new Map<string, ShimServer>();

  constructor(private readonly log: (msg: string) => void) {}

  /** Starts serving `a` on `<bundle>/shim.sock`. */
  async serve(a: ShimAssignment): Promise<void> {
    const key = `${a.namespace}/${a.id}`;
    if (this.served.has(key)) throw new Error(`already serving ${key}`);
    const runc = new Runc({ binary: a.runtime, root: a.runtimeRoot, systemdCgroup: a.systemdCgroup });
    let server: ShimServer | undefined;
    const init = new InitProcess(a.id, a.bundle, runc, (exit) => server?.broadcast({ event: 'exit', exit }));
    server = new ShimServer(init, () => this.shutDown(key), (next) => this.serve(next));
    await server.listen(path.join(a.bundle, 'shim.sock'));
    writeFileSync(path.join(a.bundle, 'shim.pid'), String(process.pid));
    this.served.set(key, server);
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
}
