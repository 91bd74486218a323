import { RuntimeError, toRuntimeError, type ErrorKind } from './errors.js';

/**
 * The one table of error kinds to gRPC status codes (containerd's errdefs
 * mapping), as plain numbers so the CLI can read statuses without loading
 * grpc-js.
 */
export const GRPC_CODE: Record<ErrorKind, number> = {
  Canceled: 1,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  FailedPrecondition: 9,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
};

/** Response header set on Wait/Delete when the task was OOM-killed (containerd's API has no field for it). */
export const OOM_HEADER = 'containerd-ts-oom-killed';

/** Metadata key the daemon puts on every error it sends (its stable error code). */
export const ERROR_CODE_HEADER = 'containerd-ts-error-code';

/** What a failed call looks like, from grpc-js or from our own gRPC client (src/wire). */
export interface StatusLike {
  code?: unknown;
  details?: string;
  message?: string;
  metadata?: { get(key: string): unknown[] };
}

/** A gRPC error back into our kinds (clients: the CLI). */
export function fromServiceError(err: unknown): RuntimeError {
  const se = err as StatusLike | null;
  if (typeof se?.code !== 'number') return toRuntimeError(err);
  const code = se.code;
  const kind = (Object.entries(GRPC_CODE).find(([, c]) => c === code)?.[0] ?? 'Internal') as ErrorKind;
  const message = se.details || se.message || 'unknown error';
  // Our daemon marks every error it sends; an unmarked UNAVAILABLE comes from the channel itself.
  const fromDaemon = (se.metadata?.get(ERROR_CODE_HEADER).length ?? 0) > 0;
  if (code === GRPC_CODE.Unavailable && !fromDaemon) {
    return new RuntimeError('Unavailable', `cannot reach the containerd-ts daemon: ${message}`, { cause: err });
  }
  return new RuntimeError(kind, message, { cause: err });
}
