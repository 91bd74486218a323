import type * as grpc from '@grpc/grpc-js';
import { invalidArgument, unimplemented } from '../../errors.js';
import { validateIdentifier } from '../../oci/identifiers.js';
import { toServiceError } from './status.js';

export const NAMESPACE_HEADER = 'containerd-namespace';
export const DEFAULT_NAMESPACE = 'default';
export { OOM_HEADER } from '../../grpc-codes.js';

/** gRPC metadata naming the lease a call's new content and snapshots belong to (containerd's leases.WithLease). */
export const LEASE_HEADER = 'containerd-lease';

/** The lease named in the call's metadata, if any. */
export function leaseOf(call: { metadata: grpc.Metadata }): string | undefined {
  const value = call.metadata.get(LEASE_HEADER)[0];
  const lease = typeof value === 'string' ? value : value?.toString('utf8');
  return lease ? lease : undefined;
}

/** Reads the namespace from the call's metadata like containerd (required for namespaced services). */
export function namespaceOf(call: { metadata: grpc.Metadata }): string {
  const value = call.metadata.get(NAMESPACE_HEADER)[0];
  const ns = typeof value === 'string' ? value : value?.toString('utf8');
  if (!ns) throw invalidArgument(`namespace is required: set the "${NAMESPACE_HEADER}" gRPC metadata (ctr: -n NAME)`);
  return validateIdentifier(ns, 'namespace');
}

/**
 * Wraps an async implementation as a grpc-js unary handler. Errors are
 * translated to a status here, at the edge, and nowhere else.
 */
export function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then((res) => callback(null, res), (err: unknown) => callback(toServiceError(err)));
  };
}

/** Wraps an async server-streaming implementation; it writes to the call and resolves when done. */
export function serverStream<Req, Res>(
  fn: (req: Req, call: grpc.ServerWritableStream<Req, Res>) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    // grpc-js sends the status when the stream emits 'error'; destroy() would end it without one.
    fn(call.request, call).then(() => call.end(), (err: unknown) => call.emit('error', toServiceError(err)));
  };
}

/** The handler for methods this daemon does not serve (yet): a clear Unimplemented status. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fits every handler slot (unary or streaming) by design
export function notImplemented(service: string, method: string): (call: any, callback?: any) => void {
  return (call: { destroy?: (e: Error) => void }, callback?: (err: Partial<grpc.ServiceError>) => void) => {
    const err = toServiceError(unimplemented(`${service}.${method} is not implemented by containerd-ts yet`));
    if (typeof callback === 'function') callback(err);
    else (call as { emit?: (e: string, v: unknown) => void }).emit?.('error', err);
  };
}
