import { rmSync } from 'node:fs';
import { unavailable } from '../errors.js';
import type { ShimAssignment } from './assignment.js';
import { ShimClient } from './client.js';
import { READY_TIMEOUT_MS, type ShimStartOptions, type StandbyShim } from './standby.js';

/**
 * A shim whose container was deleted and that agreed to serve again
 * (`recycle`): the daemon keeps the connection it answered on and hands it
 * the next container with `assign`. It is already in the shims' scope.
 */
export class RecycledShim implements StandbyShim {
  readonly placed = Promise.resolve();
  died = false;

  /** `logFile`: the standby log the shim writes to until it moves it into its next bundle. */
  constructor(
    private readonly control: ShimClient,
    private readonly logFile: string,
  ) {
    // The old container's listeners stay on this connection; only its loss matters now.
    control.onLost(() => (this.died = true));
  }

  get pid(): number {
    return this.control.pid;
  }

  async assign(opts: ShimStartOptions): Promise<ShimClient> {
    const assignment: ShimAssignment = { ...opts, systemdCgroup: true };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`recycled shim for ${opts.id} did not answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.control.call('assign', assignment), timedOut]);
      const client = await ShimClient.connect(opts.bundle);
      client.pid = this.pid;
      return client;
    } catch (err) {
      // It may serve the new bundle already: nobody would ever talk to it.
      if (this.pid > 0) {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.control.close();
    }
  }

  /** Ends the process (a recycled shim waiting for a container exits when its connection closes) and removes its log. */
  discard(): void {
    this.control.close();
    rmSync(this.logFile, { force: true });
  }
}
