/**
 * The closed set of error kinds used everywhere in containerd-ts.
 * Modules throw `RuntimeError` with one of these kinds; only the gRPC edge
 * (src/daemon/grpc/status.ts) and the CLI translate them to something else.
 * The kinds mirror containerd's errdefs so `ctr` reacts to them the same way.
 */
export const ErrorKind = {
  InvalidArgument: 'InvalidArgument',
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  FailedPrecondition: 'FailedPrecondition',
  Unavailable: 'Unavailable',
  Unimplemented: 'Unimplemented',
  Internal: 'Internal',
  Canceled: 'Canceled',
  DeadlineExceeded: 'DeadlineExceeded',
} as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

/** Stable machine-readable codes, one per kind (part of the API: do not renumber). */
export const ErrorCode: Record<ErrorKind, string> = {
  InvalidArgument: 'ERR_INVALID_ARGUMENT',
  NotFound: 'ERR_NOT_FOUND',
  AlreadyExists: 'ERR_ALREADY_EXISTS',
  FailedPrecondition: 'ERR_FAILED_PRECONDITION',
  Unavailable: 'ERR_UNAVAILABLE',
  Unimplemented: 'ERR_UNIMPLEMENTED',
  Internal: 'ERR_INTERNAL',
  Canceled: 'ERR_CANCELED',
  DeadlineExceeded: 'ERR_DEADLINE_EXCEEDED',
};

export interface RuntimeErrorOptions {
  cause?: unknown;
  /** Structured context (ids, paths, digests) kept for logs and clients. */
  fields?: Record<string, string | number | boolean | undefined>;
}

/** The one error class modules throw; `kind` decides how the edge reports it. */
export class RuntimeError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly fields: Record<string, string | number | boolean | undefined>;

  constructor(kind: ErrorKind, message: string, options: RuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RuntimeError';
    this.kind = kind;
    this.code = ErrorCode[kind];
    this.fields = options.fields ?? {};
  }
}

/** Shorthands so call sites read as the condition they report. */
export const invalidArgument = (msg: string, o?: RuntimeErrorOptions) => new RuntimeError('InvalidArgument', msg, o);
export const notFound = (msg: string, o?: RuntimeErrorOptions) => new RuntimeError('NotFound', msg, o);
export const alreadyExists = (msg: string, o?: RuntimeErrorOptions) => new RuntimeError('AlreadyExists', msg, o);
export const failedPrecondition = (msg: string, o?: RuntimeErrorOptions) => new RuntimeError('FailedPrecondition', msg, o);
export const unavailable = (msg: string, o?: RuntimeErrorOptions) => new RuntimeError('Unavailable', msg, o);
export const unimplemented = (msg: string, o?: RuntimeErrorOptions) => new RuntimeError('Unimplemented', msg, o);
export const internal = (msg: string, o?: RuntimeErrorOptions) => new RuntimeError('Internal', msg, o);

export function isRuntimeError(err: unknown, kind?: ErrorKind): err is RuntimeError {
  return err instanceof RuntimeError && (kind === undefined || err.kind === kind);
}

/** Wraps anything thrown into a RuntimeError, keeping an existing kind. */
export function toRuntimeError(err: unknown, fallback: ErrorKind = 'Internal'): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RuntimeError(fallback, message, { cause: err });
}
