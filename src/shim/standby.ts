import type { ShimAssignment } from './assignment.js';
import type { ShimClient } from './client.js';

/** What the daemon needs to start a shim for one container. */
export type ShimStartOptions = Omit<ShimAssignment, 'systemdCgroup'>;

/** One bound for handing a standby its container: a fresh shim still loading, then serving. */
export const READY_TIMEOUT_MS = 10_000;

/**
 * A shim process waiting for a container: a fresh one (fresh-shim.ts), or
 * one whose container was deleted and that the daemon kept (recycled-shim.ts).
 */
export interface StandbyShim {
  readonly pid: number;
  /** The process is gone (or its connection is): assigning it would fail. */
  readonly died: boolean;
  /** Settles once the process is in the shims' scope (rejected: it is not; see ShimLauncher's `place`). */
  readonly placed: Promise<void>;
  /** Hands the shim its container and connects to it once it serves. */
  assign(opts: ShimStartOptions): Promise<ShimClient>;
  /** Ends a shim that will not be assigned. */
  discard(): void;
}
