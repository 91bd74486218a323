import * as grpc from '@grpc/grpc-js';
import { toRuntimeError } from '../../errors.js';
import { ERROR_CODE_HEADER, GRPC_CODE } from '../../grpc-codes.js';

export { fromServiceError } from '../../grpc-codes.js';

/** Turns anything thrown by a service into a grpc-js ServiceError (the kinds' codes are in grpc-codes.ts). */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const e = toRuntimeError(err);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_HEADER, e.code);
  return { code: GRPC_CODE[e.kind] as grpc.status, details: e.message, message: e.message, metadata };
}
