import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { ErrorCode, ErrorKind, RuntimeError, isRuntimeError, notFound } from '../../src/errors.js';
import { DEFAULT_NAMESPACE, NAMESPACE_HEADER, namespaceOf, notImplemented, unary } from '../../src/daemon/grpc/handlers.js';
import { fromServiceError, toServiceError } from '../../src/daemon/grpc/status.js';

const EXPECTED: Record<ErrorKind, number> = {
  InvalidArgument: 3,
  NotFound: 5,
  AlreadyExists: 6,
  FailedPrecondition: 9,
  Unavailable: 14,
  Unimplemented: 12,
  Internal: 13,
  Canceled: 1,
  DeadlineExceeded: 4,
};

describe('daemon/grpc/status', () => {
  it('maps every error kind to its gRPC code (what ctr reacts to) and back', () => {
    expect(Object.keys(EXPECTED)).to.have.members(Object.values(ErrorKind));
    for (const [kind, code] of Object.entries(EXPECTED) as Array<[ErrorKind, number]>) {
      const se = toServiceError(new RuntimeError(kind, `something ${kind}`));
      expect(se.code, kind).to.equal(code);
      expect(se.details).to.equal(`something ${kind}`);
      expect(se.message).to.equal(`something ${kind}`);
      expect(se.metadata!.get('containerd-ts-error-code')).to.deep.equal([ErrorCode[kind]]);
      const back = fromServiceError({ ...se, message: `${code} ${grpc.status[code]}: something ${kind}` });
      expect(back.kind, kind).to.equal(kind);
      expect(back.message).to.equal(`something ${kind}`);
    }
  });

  it('reports a plain Error as INTERNAL with its message', () => {
    const se = toServiceError(new Error('disk on fire'));
    expect(se.code).to.equal(grpc.status.INTERNAL);
    expect(se.details).to.equal('disk on fire');
  });

  it('maps codes without a kind (UNKNOWN, RESOURCE_EXHAUSTED) to Internal, keeping the text', () => {
    const e = fromServiceError({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'too big', message: '8 RESOURCE_EXHAUSTED: too big' });
    expect(e.kind).to.equal('Internal');
    expect(e.message).to.equal('too big');
  });

  it('passes non-gRPC errors through as RuntimeErrors', () => {
    const nf = notFound('x');
    expect(fromServiceError(nf)).to.equal(nf);
    expect(fromServiceError(new Error('plain')).kind).to.equal('Internal');
  });

  it('says the daemon cannot be reached when the client cannot connect', () => {
    // What grpc-js reports when the socket does not exist.
    const details = 'No connection established. Last error: connect ENOENT /run/containerd-ts/containerd-ts.sock';
    const e = fromServiceError({ code: grpc.status.UNAVAILABLE, details, message: `14 UNAVAILABLE: ${details}` });
    expect(isRuntimeError(e, 'Unavailable')).to.equal(true);
    expect(e.message).to.contain('cannot reach the containerd-ts daemon').and.to.contain('ENOENT');
  });

  // Regression test (was a bug): src/daemon/grpc/status.ts fromServiceError (the /connect|ENOENT|.../ test, line ~31) also
  // matches Unavailable errors the DAEMON sent, e.g. src/shim/client.ts "connection to shim in <bundle>
  // closed" / "cannot connect to shim ..." or src/systemd/bus.ts "system bus connection closed"
  // ("connection" contains "connect"). The CLI then tells the user the daemon is unreachable when it
  // answered. Fix: only treat it as a connect failure when the status did not come from our server,
  // e.g. when `se.metadata?.get('containerd-ts-error-code')` is empty (toServiceError always sets it).
  it('does not blame the connection for an Unavailable error the daemon itself returned', () => {
    const se = toServiceError(new RuntimeError('Unavailable', 'connection to shim in /run/containerd-ts/default/c1 closed'));
    const e = fromServiceError({ ...se, message: `14 UNAVAILABLE: ${se.details}` });
    expect(e.kind).to.equal('Unavailable');
    expect(e.message).not.to.contain('cannot reach the containerd-ts daemon');
  });
});

describe('daemon/grpc/handlers', () => {
  const callWith = (ns?: string | Buffer) => {
    const metadata = new grpc.Metadata();
    if (ns !== undefined) metadata.set(NAMESPACE_HEADER, ns as string);
    return { metadata };
  };

  describe('namespaceOf', () => {
    it('reads containerd-namespace from the call metadata', () => {
      expect(NAMESPACE_HEADER).to.equal('containerd-namespace');
      expect(DEFAULT_NAMESPACE).to.equal('default');
      expect(namespaceOf(callWith('k8s.io'))).to.equal('k8s.io');
    });

    it('requires the header, with a message telling how to set it', () => {
      for (const call of [callWith(), callWith('')]) {
        try {
          namespaceOf(call);
          expect.fail('accepted');
        } catch (err) {
          expect(isRuntimeError(err, 'InvalidArgument')).to.equal(true);
          expect((err as Error).message).to.contain('containerd-namespace');
        }
      }
    });

    it('rejects namespaces that are not valid identifiers', () => {
      for (const bad of ['../etc', 'a/b', 'a b', '-x']) {
        expect(() => namespaceOf(callWith(bad)), bad).to.throw(RuntimeError).with.property('kind', 'InvalidArgument');
      }
    });
  });

  describe('unary', () => {
    type Cb = (err: Partial<grpc.ServiceError> | null, res?: unknown) => void;
    const invoke = (handler: grpc.handleUnaryCall<unknown, unknown>, request: unknown) =>
      new Promise<{ err: Partial<grpc.ServiceError> | null; res?: unknown }>((resolve) => {
        const call = { request, metadata: new grpc.Metadata() } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
        (handler as unknown as (c: unknown, cb: Cb) => void)(call, (err, res) => resolve({ err, res }));
      });

    it('answers with the implementation result', async () => {
      const h = unary(async (req: { n: number }) => ({ doubled: req.n * 2 }));
      expect(await invoke(h as grpc.handleUnaryCall<unknown, unknown>, { n: 21 })).to.deep.equal({ err: null, res: { doubled: 42 } });
    });

    it('turns a thrown RuntimeError (sync or async) into a status with the right code and message', async () => {
      const sync = unary(() => {
        throw notFound('container "c1" not found');
      });
      const r1 = await invoke(sync as grpc.handleUnaryCall<unknown, unknown>, {});
      expect(r1.err?.code).to.equal(grpc.status.NOT_FOUND);
      expect(r1.err?.details).to.equal('container "c1" not found');

      const asyncFail = unary(async () => {
        throw new RuntimeError('AlreadyExists', 'image "x" already exists');
      });
      const r2 = await invoke(asyncFail as grpc.handleUnaryCall<unknown, unknown>, {});
      expect(r2.err?.code).to.equal(grpc.status.ALREADY_EXISTS);
      expect(r2.err?.details).to.equal('image "x" already exists');
    });

    it('notImplemented answers UNIMPLEMENTED naming the method', async () => {
      const h = notImplemented('Tasks', 'Checkpoint');
      const err = await new Promise<Partial<grpc.ServiceError>>((resolve) => h({}, resolve));
      expect(err.code).to.equal(grpc.status.UNIMPLEMENTED);
      expect(err.details).to.contain('Tasks.Checkpoint');
    });
  });
});
