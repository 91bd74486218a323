import type { ShimConnection } from '../../shim/client.js';
import type { ExitInfo, StdioPaths } from '../../shim/protocol.js';

/** A running (or stopped, not yet deleted) task as the daemon tracks it. */
export interface Task {
  namespace: string;
  id: string;
  pid: number;
  bundle: string;
  /** containerd-<id>.scope */
  scope: string;
  /** machined registration, when the id is a valid machine name. */
  machine?: string;
  shim: ShimConnection;
  stdio: StdioPaths;
  /** The OCI runtime binary (runc or crun). */
  runtime: string;
  /** The shim group (label io.containerd.runc.v2.group): tasks of one group share one shim process. */
  group?: string;
  exit?: ExitInfo;
  /** Set while Start runs: an exit seen meanwhile is published after /tasks/start, as containerd orders them. */
  starting?: Promise<unknown>;
  /** The machine's release, begun when the container exited (delete then only waits for it). */
  machineReleased?: Promise<unknown>;
}
