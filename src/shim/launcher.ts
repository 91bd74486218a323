import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ShimClient } from './client.js';
import { FreshShim } from './fresh-shim.js';
import { RecycledShim } from './recycled-shim.js';
import type { ShimStartOptions, StandbyShim } from './standby.js';

export type { ShimStartOptions } from './standby.js';

export interface ShimLauncherOptions {
  /**
   * Moves a new shim process out of the daemon's service, where shims live
   * (the daemon: into containerd-ts-shims.scope). Called once per process,
   * as soon as it is spawned, so the move is off the path of a create.
   */
  place(pid: number): Promise<void>;
}

/** A shim handed its container: connected, and whether it is in the shims' scope yet. */
export interface StartedShim {
  shim: ShimClient;
  placed: Promise<void>;
}

/**
 * How long after a create the launcher waits before it starts a new standby
 * shim: a container deleted in that time (a `run --rm` of a short command)
 * gives its shim back, and no process is started at all. Long enough for
 * that, short enough that a script's next create (a CLI start-up later)
 * still finds a standby waiting.
 */
const PREPARE_AFTER_CREATE_MS = 60;

/**
 * Keeps one shim waiting for the next create. A shim is a Node process, and
 * Node's start-up plus module loading (60-150 ms of CPU here) was the
 * largest step of a create; a standby has paid it before a create asks.
 * The standby is a fresh process, or a recycled one: the shim of a deleted
 * container that agreed to serve again. One standby at a time: a burst of
 * creates takes it and starts the rest fresh, and a shim given back while
 * a standby waits is let go.
 */
export class ShimLauncher {
  private standby: StandbyShim | undefined;
  private prepareTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `logDir` holds each fresh shim's log until the shim moves it into its bundle. */
  constructor(
    private readonly logDir: string,
    private readonly options: ShimLauncherOptions,
  ) {
    // Logs of standby shims a previous daemon left (they exit when its end of their stdin closes).
    rmSync(logDir, { recursive: true, force: true });
  }

  /** A shim serving `opts.bundle`, connected. */
  async start(opts: ShimStartOptions): Promise<StartedShim> {
    const standby = this.standby;
    this.standby = undefined;
    if (standby) {
      try {
        return { shim: await standby.assign(opts), placed: this.placement(standby) };
      } catch (err) {
        // A standby that died while it waited (killed by hand, say) is replaced once.
        if (!standby.died) throw err;
        standby.discard();
      }
    }
    const fresh = this.spawn();
    return { shim: await fresh.assign(opts), placed: this.placement(fresh) };
  }

  /** Has a standby shim on its way unless there is one (at start-up, and when a create took the last one). */
  prepare(): void {
    if (this.prepareTimer) clearTimeout(this.prepareTimer);
    this.prepareTimer = undefined;
    if (this.closed || this.standby) return;
    const shim = this.spawn();
    this.standby = shim;
    shim.ready.catch(() => {
      if (this.standby === shim) this.standby = undefined;
    });
  }

  /** prepare(), a moment after a create, unless a deleted container's shim has come back by then. */
  prepareAfterCreate(): void {
    if (this.closed || this.standby || this.prepareTimer) return;
    this.prepareTimer = setTimeout(() => this.prepare(), PREPARE_AFTER_CREATE_MS);
    this.prepareTimer.unref();
  }

  /**
   * Offers the shim of a deleted container (its last) the standby's place.
   * true: the shim agreed and waits (the caller must not use `shim` again);
   * false: the caller shuts it down as usual.
   */
  async recycle(shim: ShimClient): Promise<boolean> {
    if (this.closed || this.standby) return false;
    const log = this.newLogFile();
    const { recycled } = await shim.call('recycle', { log }).catch(() => ({ recycled: false }));
    if (!recycled) {
      rmSync(log, { force: true });
      return false;
    }
    const standby = new RecycledShim(shim, log);
    if (this.standby || this.closed) {
      standby.discard();
      return true;
    }
    if (this.prepareTimer) clearTimeout(this.prepareTimer);
    this.prepareTimer = undefined;
    this.standby = standby;
    return true;
  }

  /** Stops the standby shim (daemon shutdown); shims serving containers are not touched. */
  close(): void {
    this.closed = true;
    if (this.prepareTimer) clearTimeout(this.prepareTimer);
    this.standby?.discard();
    this.standby = undefined;
  }

  private spawn(): FreshShim {
    return new FreshShim(this.newLogFile(), (pid) => this.options.place(pid));
  }

  /** Where a standby's log is until the shim moves it into its bundle. */
  private newLogFile(): string {
    mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
    return path.join(this.logDir, `standby-${randomUUID().slice(0, 8)}.log`);
  }

  /** The standby's placement; one that failed while it waited is tried again now. */
  private placement(shim: StandbyShim): Promise<void> {
    return shim.placed.catch(() => this.options.place(shim.pid));
  }
}
