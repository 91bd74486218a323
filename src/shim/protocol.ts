/**
 * The daemon <-> shim protocol: newline-delimited JSON over the unix socket
 * `<bundle>/shim.sock`. Requests carry an id; responses echo it. Events carry
 * no id and may arrive at any time. JSON keeps the shim free of gRPC's
 * start-up cost (about 65 ms per process), which every container would pay.
 */
import type { ErrorKind } from '../errors.js';
import type { ShimAssignment } from './assignment.js';
import type { LogRotation } from './rotating-log.js';

/** Where the container's stdio goes: FIFO paths (like containerd's), a file, or nothing. */
export interface StdioPaths {
  stdin?: string;
  stdout?: string;
  stderr?: string;
  terminal?: boolean;
}

export interface CreateParams extends StdioPaths {
  /** Size-based rotation of the log file, when stdout is one (detached tasks); the shim's default otherwise. */
  logRotation?: LogRotation;
}

/** The exit of a process, containerd-style: status is the exit code or 128+signal. */
export interface ExitInfo {
  pid: number;
  status: number;
  signal: number | null;
  exitedAt: string;
  oomKilled: boolean;
  /** Set when the exit was not observed by the shim (e.g. the shim died). */
  reason?: string;
}

export type TaskStatus = 'created' | 'running' | 'stopped' | 'paused' | 'deleted';

export interface StateResult {
  id: string;
  pid: number;
  status: TaskStatus;
  exit?: ExitInfo;
  bundle: string;
  stdout?: string;
  stderr?: string;
  stdin?: string;
  terminal?: boolean;
}

/** Names an exec process; absent means the container's init. */
export interface ExecTarget {
  execId?: string;
}

/** Every method the shim serves, with its params and result types. */
export interface ShimMethods {
  create: { params: CreateParams; result: { pid: number } };
  start: { params: ExecTarget; result: { pid: number } };
  state: { params: ExecTarget; result: StateResult };
  kill: { params: ExecTarget & { signal: number; all?: boolean }; result: Record<string, never> };
  wait: { params: ExecTarget; result: ExitInfo };
  delete: { params: ExecTarget; result: ExitInfo };
  exec: { params: StdioPaths & { execId: string; spec: unknown }; result: Record<string, never> };
  shutdown: { params: Record<string, never>; result: Record<string, never> };
  /**
   * Like shutdown, for the last container a single-container shim serves,
   * except that a shim fit to serve again (see host.ts) stays: it stops
   * serving the socket and waits on this connection for `assign`, the next
   * container, its stderr moved to `log` (the daemon's standby log dir) so
   * that no file of the old container stays open. `recycled: false`: it
   * shut down instead.
   */
  recycle: { params: { log: string }; result: { recycled: boolean } };
  /** A recycled shim's next container (the only call it then takes); it serves the new bundle's socket when this answers. */
  assign: { params: ShimAssignment; result: Record<string, never> };
  pause: { params: Record<string, never>; result: Record<string, never> };
  resume: { params: Record<string, never>; result: Record<string, never> };
  pids: { params: Record<string, never>; result: { pids: number[] } };
  /** Serve another container from this shim process (grouping); it gets its own socket in its bundle. */
  adopt: { params: ShimAssignment; result: Record<string, never> };
  /** ResizePty: FailedPrecondition when the process has no terminal or has exited. */
  resize: { params: ExecTarget & { width: number; height: number }; result: Record<string, never> };
  /** CloseIO: the process's stdin ends. */
  closeIO: { params: ExecTarget; result: Record<string, never> };
}
export type ShimMethod = keyof ShimMethods;

export interface ShimRequest<M extends ShimMethod = ShimMethod> {
  id: number;
  method: M;
  params: ShimMethods[M]['params'];
}

export interface ShimErrorBody {
  kind: ErrorKind;
  message: string;
}

export interface ShimResponse {
  id: number;
  result?: unknown;
  error?: ShimErrorBody;
}

export interface ShimEvent {
  event: 'exit';
  exit: ExitInfo;
  /** Set when an exec process exited (not the init). */
  execId?: string;
}

/** Splits a byte stream into JSON lines; a tiny framing helper shared by both ends. */
export class LineDecoder {
  private buffer = '';
  push(chunk: string, onLine: (line: string) => void): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
  }
}
