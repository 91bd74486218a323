import type * as grpc from '@grpc/grpc-js';
import { failedPrecondition, invalidArgument, isRuntimeError, RuntimeError } from '../../errors.js';
import { toTimestamp } from '../../proto.js';
import type { Init, WriteContentRequest, WriteContentResponse } from '../../proto-types.js';
import type { ContentStore, Expected, Writer } from '../../snapshot/content.js';
import type { ContentNamespaces } from '../metadata/content.js';
import { validateDigest, type Digest } from '../../snapshot/digest.js';
import type { GarbageCollector } from '../gc/collector.js';
import { LeaseResourceType, type LeaseStore } from '../metadata/leases.js';
import { leaseOf, namespaceOf } from './handlers.js';
import { toServiceError } from './status.js';

type WriteCall = grpc.ServerDuplexStream<WriteContentRequest, Init<WriteContentResponse>>;

/**
 * Content.Write, containerd's bidirectional ingest protocol: the first
 * message names the ref (and may give the expected digest and total);
 * then STAT reports progress, WRITE appends at the current offset (offset 0
 * on a partial ingest starts it over), COMMIT verifies size and digest and
 * publishes the blob. The ref stays locked while the stream is open; a
 * stream that ends without a commit leaves a resumable ingest. A blob that
 * another namespace holds (the expected digest) is complete at the first
 * STAT, so the client commits it without sending it (containerd's shared
 * content policy).
 */
export function contentWriteHandler(content: ContentNamespaces, leases: LeaseStore, gc: GarbageCollector): grpc.handleBidiStreamingCall<WriteContentRequest, Init<WriteContentResponse>> {
  return (call: WriteCall) => {
    let session: WriteSession;
    try {
      session = new WriteSession(content, leases, gc, call);
    } catch (err) {
      call.emit('error', toServiceError(err));
      return;
    }
    // Messages are handled one at a time, in order; the stream is paused while one is.
    let queue = Promise.resolve();
    let failed = false;
    const fail = async (err: unknown) => {
      if (failed) return;
      failed = true;
      await session.close().catch(() => undefined);
      call.emit('error', toServiceError(err));
    };
    call.on('data', (msg: WriteContentRequest) => {
      call.pause();
      queue = queue
        .then(async () => {
          if (failed) return;
          call.write(await session.handle(msg));
          call.resume();
        })
        .catch(fail);
    });
    call.on('end', () => {
      queue = queue
        .then(async () => {
          if (failed) return;
          await session.close();
          call.end();
        })
        .catch(fail);
    });
    call.on('error', () => void session.close().catch(() => undefined));
    call.on('cancelled', () => void session.close().catch(() => undefined));
  };
}

/** The state of one Write stream: the open writer and what the client expects of it. */
class WriteSession {
  private writer: Writer | undefined;
  private ref = '';
  private total: number | undefined;
  private expected: Digest | undefined;
  private committed = false;
  private readonly namespace: string;
  private readonly lease: string | undefined;
  private readonly store: ContentStore;

  constructor(
    content: ContentNamespaces,
    private readonly leases: LeaseStore,
    private readonly gc: GarbageCollector,
    call: WriteCall,
  ) {
    this.namespace = namespaceOf(call);
    this.store = content.forNamespace(this.namespace);
    this.lease = leaseOf(call);
    if (this.lease !== undefined) leases.get(this.namespace, this.lease);
  }

  async handle(msg: WriteContentRequest): Promise<Init<WriteContentResponse>> {
    if (this.committed) throw failedPrecondition(`content ${this.ref} is already committed; open a new Write stream`);
    this.takeExpectations(msg);
    const writer = this.writer ?? (await this.open(msg.ref));
    const action = msg.action || 'STAT';
    if (action === 'STAT') {
      const status = await this.store.status(this.ref).catch(() => undefined);
      return {
        action,
        offset: String(writer.offset()),
        total: String(this.total ?? 0),
        digest: writer.digest(),
        ...(status ? { started_at: toTimestamp(status.startedAt), updated_at: toTimestamp(status.updatedAt) } : {}),
      };
    }
    if (action !== 'WRITE' && action !== 'COMMIT') throw invalidArgument(`unknown write action ${String(action)}`);
    const offset = Number(msg.offset || 0);
    let current = writer;
    if (offset > 0 && offset !== current.offset()) {
      throw invalidArgument(`write at offset ${offset} must happen at the current offset ${current.offset()} of ${this.ref}`, {
        fields: { ref: this.ref, offset, current: current.offset() },
      });
    }
    if (offset === 0 && current.offset() > 0) current = await this.restart();
    if (msg.data && msg.data.length > 0) await current.write(msg.data);
    if (action === 'COMMIT') await this.commit(current, msg.labels);
    return { action, offset: String(current.offset()), total: String(this.total ?? 0), digest: current.digest() };
  }

  /** Releases the ref, keeping a partial ingest for a later resume. */
  async close(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    if (writer !== undefined && !this.committed) await writer.close();
  }

  private takeExpectations(msg: WriteContentRequest): void {
    const total = Number(msg.total || 0);
    if (!Number.isSafeInteger(total) || total < 0) throw invalidArgument(`invalid total ${String(msg.total)}`);
    if (total > 0) this.total = total;
    if (msg.expected) this.expected = validateDigest(msg.expected);
  }

  private expectation(): Expected {
    return { ...(this.expected !== undefined ? { digest: this.expected } : {}), ...(this.total !== undefined ? { size: this.total } : {}) };
  }

  private async open(ref: string): Promise<Writer> {
    if (!ref) throw invalidArgument('the first Write message must name a ref');
    this.ref = ref;
    try {
      this.writer = await this.store.writer({ ref, expected: this.expectation() });
    } catch (err) {
      // The blob is already here: the client skips it, and the lease must keep it until the image refers to it.
      if (isRuntimeError(err, 'AlreadyExists') && this.expected !== undefined) this.attach(LeaseResourceType.content, this.expected);
      throw err;
    }
    this.attach(LeaseResourceType.ingests, ref);
    return this.writer;
  }

  /**
   * containerd truncates to 0 when a client writes at offset 0 over partial data; here the ingest is replaced.
   * A shared blob's writer starts complete: writing it from 0 takes a new ingest without the digest (checked at commit).
   */
  private async restart(): Promise<Writer> {
    await this.writer?.abort();
    this.writer = undefined;
    let writer = await this.store.writer({ ref: this.ref, expected: this.expectation() });
    if (writer.offset() > 0) {
      await writer.abort();
      writer = await this.store.writer({ ref: this.ref, expected: this.total !== undefined ? { size: this.total } : {} });
    }
    this.writer = writer;
    return writer;
  }

  private async commit(writer: Writer, labels: Record<string, string> | undefined): Promise<void> {
    await this.gc.withHold(async () => {
      try {
        const info = await writer.commit(this.expectation(), labels && Object.keys(labels).length > 0 ? { labels } : {});
        this.attach(LeaseResourceType.content, info.digest);
      } catch (err) {
        if (isRuntimeError(err, 'AlreadyExists') && this.expected !== undefined) this.attach(LeaseResourceType.content, this.expected);
        // containerd reports a size or digest mismatch as FailedPrecondition; nothing was committed.
        if (isRuntimeError(err, 'InvalidArgument')) throw new RuntimeError('FailedPrecondition', err.message, { cause: err, fields: err.fields });
        throw err;
      } finally {
        this.committed = true;
        this.writer = undefined;
      }
    });
  }

  private attach(type: string, id: string): void {
    if (this.lease !== undefined) this.leases.addResource(this.namespace, this.lease, { type, id });
  }
}
