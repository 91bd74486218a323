import * as grpc from '@grpc/grpc-js';
import { RuntimeError, toRuntimeError, type ErrorKind } from '../../errors.js';

/** The one place error kinds become gRPC status codes (containerd's errdefs mapping). */
const CODES: Record<ErrorKind, grpc.status> = {
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  NotFound: grpc.status.NOT_FOUND,
  AlreadyExists: grpc.status.ALREADY_EXISTS,
  FailedPrecondition: grpc.status.FAILED_PRECONDITION,
  Unavailable: grpc.status.UNAVAILABLE,
  Unimplemented: grpc.status.UNIMPLEMENTED,
  Internal: grpc.status.INTERNAL,
  Canceled: grpc.status.CANCELLED,
  DeadlineExceeded: grpc.status.DEADLINE_EXCEEDED,
};

/** Turns anything thrown by a service into a grpc-js ServiceError. */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const e = toRuntimeError(err);
  const metadata = new grpc.Metadata();
  metadata.set('containerd-ts-error-code', e.code);
  return { code: CODES[e.kind], details: e.message, message: e.message, metadata };
}

/** The reverse, for clients (the CLI): a gRPC error back into our kinds. */
export function fromServiceError(err: unknown): RuntimeError {
  const se = err as Partial<grpc.ServiceError>;
  if (typeof se?.code !== 'number') return toRuntimeError(err);
  const kind = (Object.entries(CODES).find(([, c]) => c === se.code)?.[0] ?? 'Internal') as ErrorKind;
  const message = se.details || se.message || 'unknown error';
  // Our daemon marks every error it sends; an unmarked UNAVAILABLE comes from the channel itself.
  const fromDaemon = (se.metadata?.get('containerd-ts-error-code').length ?? 0) > 0;
  if (se.code === grpc.status.UNAVAILABLE && !fromDaemon) {
    return new RuntimeError('Unavailable', `cannot reach the containerd-ts daemon: ${message}`, { cause: err });
  }
  return new RuntimeError(kind, message, { cause: err });
}
