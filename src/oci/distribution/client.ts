/**
 * The registry client (containerd's remotes/docker resolver + fetcher):
 * `resolve` turns a reference into a verified descriptor, `fetchManifest`
 * reads a manifest or index (size-capped, digest-checked), `fetchBlob`
 * streams a blob into the content store through a Writer, resuming a broken
 * download with a Range request from the ingest's offset. With mirrors
 * configured, each call asks the mirrors first (mirrors.ts).
 */
import { failedPrecondition, invalidArgument, isRuntimeError, notFound, RuntimeError, unavailable } from '../../errors.js';
import { isComplete, type Info, type Ingester, type Provider, type Writer } from '../../snapshot/content.js';
import { digestOf, isDigest, validateDigest, type Digest } from '../../snapshot/digest.js';
import { MAX_JSON_BLOB_BYTES, type Descriptor } from '../image-types.js';
import { pullScope } from './auth.js';
import { MirrorChain, type MirrorOptions } from './mirrors.js';
import { MANIFEST_ACCEPT, bareMediaType, isKnownManifestType, manifestMediaType, rejectSchema1 } from './media-types.js';
import { apiHost, formatReference, parseReference, referenceObject, type Reference } from './reference.js';
import { backoffDelay, isRetryableError, sleep } from './retry.js';
import { RegistryTransport, errorDetail, header, readLimitedBuffer, type HttpResponse, type TransportOptions } from './transport.js';

/** Options of a registry client: everything the transport takes, and mirrors. */
export type RegistryClientOptions = TransportOptions & MirrorOptions;

/** What `resolve` found: the canonical name, the parsed reference and the root descriptor (with its bytes when they were read). */
export interface Resolved {
  name: string;
  reference: Reference;
  descriptor: Descriptor;
  /** The document, when resolving had to GET it (already verified against `descriptor`). */
  data?: Buffer;
}

/** Options of one blob download. */
export interface FetchBlobOptions {
  /** Ingest ref; the default `pull-<digest>` lets a later pull resume what this one left. */
  ingestRef?: string;
  labels?: Record<string, string>;
  /** Called with the bytes written so far (resumed bytes included) and the total. */
  onProgress?: (offset: number, total: number) => void;
  signal?: AbortSignal;
  /** Also hands every downloaded byte to this consumer (the pull's streaming unpack). */
  tap?: BlobTap;
}

/**
 * A second consumer of a blob download: it sees the bytes as they arrive,
 * from byte 0 and in order, before they are verified (the Writer verifies on
 * commit). When that single stream is broken (a resumed ingest, a retry after
 * a cut connection, a restart), `cut` is called and no more bytes follow: the
 * consumer must drop what it made and use the committed blob instead. A
 * rejected `write` fails the download.
 */
export interface BlobTap {
  write(chunk: Uint8Array): Promise<void>;
  cut(): void;
}

/** How a blob ended up in the store. */
export interface FetchedBlob {
  info: Info;
  /** False when the store already had it (nothing was downloaded). */
  fetched: boolean;
  /** Bytes that were already in the ingest from an earlier, broken download. */
  resumedFrom: number;
}

/** One client per pull (or per daemon): pools, tokens and schemes are cached inside. */
export class RegistryClient {
  readonly transport: RegistryTransport;
  private readonly mirrors: MirrorChain;

  constructor(options: RegistryClientOptions = {}) {
    this.transport = new RegistryTransport(options);
    this.mirrors = new MirrorChain(options);
  }

  /**
   * Resolves `ref` (a string or parsed reference) to the descriptor of its
   * manifest or index: HEAD first (it does not count against pull rate
   * limits), GET when the HEAD answer is incomplete. The registry's digest is
   * checked against the reference's digest and, for a GET, the bytes.
   */
  async resolve(ref: string | Reference, signal?: AbortSignal): Promise<Resolved> {
    const reference = typeof ref === 'string' ? parseReference(ref) : ref;
    const resolved = await this.mirrors.run(
      reference,
      `resolve ${formatReference(reference)}`,
      (endpoint) => this.retryBody(apiHost(endpoint.domain), signal, () => this.resolveOnce(endpoint, signal)),
      signal,
    );
    // Found on a mirror or not, the image keeps the name it was asked by.
    return { ...resolved, name: formatReference(reference), reference };
  }

  private async resolveOnce(reference: Reference, signal?: AbortSignal): Promise<Resolved> {
    const name = formatReference(reference);
    const host = apiHost(reference.domain);
    const path = `/v2/${reference.path}/manifests/${referenceObject(reference)}`;
    const base = { host, path, headers: { accept: MANIFEST_ACCEPT }, scope: pullScope(reference.path), ...(signal ? { signal } : {}) };
    const head = await this.transport.request({ ...base, method: 'HEAD' });
    await head.body.dump().catch(() => undefined);
    if (head.status === 404) throw this.notFoundError(name, reference);
    if (head.status === 200) {
      const digest = header(head.headers, 'docker-content-digest');
      const mediaType = bareMediaType(header(head.headers, 'content-type'));
      const size = Number(header(head.headers, 'content-length'));
      rejectSchema1(mediaType, `manifest of ${name}`);
      if (digest !== undefined && isDigest(digest) && isKnownManifestType(mediaType) && Number.isSafeInteger(size) && size > 0) {
        if (reference.digest !== undefined && digest !== reference.digest) throw this.mismatch(name, reference.digest, digest);
        return { name, reference, descriptor: { mediaType, digest, size } };
      }
    } else if (head.status !== 405 && head.status !== 400) {
      throw this.statusError(head, name, 'resolve');
    }
    const res = await this.transport.request({ ...base, method: 'GET' });
    if (res.status === 404) {
      await res.body.dump().catch(() => undefined);
      throw this.notFoundError(name, reference);
    }
    if (res.status !== 200) throw await this.statusErrorWithBody(res, name, 'resolve');
    const data = await readLimitedBuffer(res.body, MAX_JSON_BLOB_BYTES, `manifest of ${name}`);
    const digest = digestOf(data);
    const claimed = header(res.headers, 'docker-content-digest');
    if (claimed !== undefined && isDigest(claimed) && claimed !== digest) throw this.mismatch(name, claimed, digest);
    if (reference.digest !== undefined && reference.digest !== digest) throw this.mismatch(name, reference.digest, digest);
    const mediaType = manifestMediaType(header(res.headers, 'content-type'), data, `manifest of ${name}`);
    return { name, reference, descriptor: { mediaType, digest, size: data.length }, data };
  }

  /** Reads a manifest or index by digest: at most 4 MiB, size and digest checked against `desc`. */
  async fetchManifest(reference: Reference, desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
    return this.mirrors.run(reference, `manifest ${desc.digest}`, (r) => this.retryBody(apiHost(r.domain), signal, () => this.fetchDocument(r, desc, 'manifests', signal)), signal);
  }

  /** Reads a small JSON blob (an image config) by digest, with the same checks. */
  async fetchJsonBlob(reference: Reference, desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
    return this.mirrors.run(reference, `blob ${desc.digest}`, (r) => this.retryBody(apiHost(r.domain), signal, () => this.fetchDocument(r, desc, 'blobs', signal)), signal);
  }

  /**
   * Downloads a blob into `store`, verifying size and digest (the Writer
   * does, on commit). A connection that breaks mid-blob is retried with
   * `Range: bytes=<offset>-` (up to the retry policy's attempts without
   * progress); if it still cannot finish the partial ingest is kept, so the
   * next pull resumes. A digest mismatch removes the ingest: nothing is
   * committed.
   */
  async fetchBlob(reference: Reference, desc: Descriptor, store: Ingester & Pick<Provider, 'info'>, options: FetchBlobOptions = {}): Promise<FetchedBlob> {
    // A mirror that breaks off mid-blob leaves its partial ingest: the next endpoint resumes it.
    return this.mirrors.run(reference, `blob ${desc.digest}`, (r) => this.fetchBlobFrom(r, desc, store, options), options.signal);
  }

  private async fetchBlobFrom(reference: Reference, desc: Descriptor, store: Ingester & Pick<Provider, 'info'>, options: FetchBlobOptions): Promise<FetchedBlob> {
    const digest = validateDigest(desc.digest);
    const size = checkSize(desc);
    const ref = options.ingestRef ?? `pull-${digest}`;
    const expected = { digest, size };
    let writer: Writer;
    try {
      writer = await store.writer({ ref, expected });
    } catch (err) {
      if (isRuntimeError(err, 'AlreadyExists')) return { info: await store.info(digest), fetched: false, resumedFrom: 0 };
      throw err;
    }
    const resumedFrom = writer.offset();
    let keep = false;
    try {
      // Complete at open (a blob another namespace holds, or a finished ingest): nothing to download.
      if (isComplete(writer, expected)) {
        const info = await writer.commit(undefined, options.labels ? { labels: options.labels } : {});
        return { info, fetched: false, resumedFrom };
      }
      writer = await this.download(reference, desc, digest, size, store, writer, ref, options);
      const info = await writer.commit(undefined, options.labels ? { labels: options.labels } : {});
      return { info, fetched: true, resumedFrom };
    } catch (err) {
      if (isRuntimeError(err, 'AlreadyExists')) return { info: await store.info(digest), fetched: false, resumedFrom };
      // A network failure keeps the partial data for the next pull; anything else (bad data) throws it away.
      keep = isRuntimeError(err, 'Unavailable') || isRuntimeError(err, 'Canceled') || options.signal?.aborted === true;
      throw err;
    } finally {
      await (keep ? writer.close() : writer.abort()).catch(() => undefined);
    }
  }

  /** Closes the connection pools. */
  close(): Promise<void> {
    return this.transport.close();
  }

  /**
   * Retries `fn` when reading a response body breaks off (the transport
   * already retries failures before the headers); any other raw error
   * becomes a RuntimeError naming the registry.
   */
  private async retryBody<T>(host: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (isRuntimeError(err) || signal?.aborted) throw err;
        if (!isRetryableError(err) || attempt >= this.transport.policy.attempts) throw this.transport.networkError(err, host, attempt);
        await sleep(backoffDelay(this.transport.policy, attempt), signal);
      }
    }
  }

  /** The download loop: returns the (possibly reopened) writer holding all `size` bytes. */
  private async download(
    reference: Reference,
    desc: Descriptor,
    digest: Digest,
    size: number,
    store: Ingester,
    initial: Writer,
    ref: string,
    options: FetchBlobOptions,
  ): Promise<Writer> {
    let writer = initial;
    const host = apiHost(reference.domain);
    const path = `/v2/${reference.path}/blobs/${digest}`;
    const policy = this.transport.policy;
    let failures = 0;
    let tap = options.tap;
    const cutTap = () => {
      tap?.cut();
      tap = undefined;
    };
    if (writer.offset() > 0) cutTap();
    const restart = async () => {
      cutTap();
      await writer.abort();
      writer = await store.writer({ ref, expected: { digest, size } });
    };
    options.onProgress?.(writer.offset(), size);
    while (writer.offset() < size) {
      const offset = writer.offset();
      const before = offset;
      try {
        const res = await this.transport.request({
          host,
          path,
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          scope: pullScope(reference.path),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (res.status === 404) {
          await res.body.dump().catch(() => undefined);
          throw notFound(`blob ${digest} of ${formatReference(reference)} not found in registry ${reference.domain}`, { fields: { digest, registry: reference.domain } });
        }
        if (res.status === 416) {
          // The partial is longer than the blob or otherwise unusable: start again.
          await res.body.dump().catch(() => undefined);
          await restart();
          continue;
        }
        if (res.status === 200 && offset > 0) {
          // Range ignored: the whole blob is coming, so the partial goes.
          await restart();
        } else if (res.status === 206) {
          const start = contentRangeStart(header(res.headers, 'content-range'));
          if (start !== offset) {
            await res.body.dump().catch(() => undefined);
            await restart();
            continue;
          }
        } else if (res.status !== 200) {
          throw await this.statusErrorWithBody(res, formatReference(reference), `fetch blob ${digest}`);
        }
        for await (const chunk of res.body) {
          const bytes = chunk as Uint8Array;
          const stored = writer.write(bytes).catch((e: unknown) => storeFailure(e, digest));
          if (tap === undefined) await stored;
          else await Promise.all([stored, tap.write(bytes)]);
          options.onProgress?.(writer.offset(), size);
        }
        if (writer.offset() < size) {
          const e = new Error(`blob ${digest}: connection closed after ${writer.offset()} of ${size} bytes`) as NodeJS.ErrnoException;
          e.code = 'ERR_STREAM_PREMATURE_CLOSE';
          throw e;
        }
      } catch (err) {
        if (isRuntimeError(err) || options.signal?.aborted) throw err;
        if (!isRetryableError(err)) throw this.transport.networkError(err, host, failures + 1);
        cutTap(); // the rest comes from a Range request: the tap's stream is broken
        failures = writer.offset() > before ? 1 : failures + 1;
        if (failures >= policy.attempts) {
          throw unavailable(
            `download of ${digest} from ${reference.domain} broke off at ${writer.offset()} of ${size} bytes ${failures} times (${(err as Error).message}); pull again to resume`,
            { cause: err, fields: { digest, registry: reference.domain, offset: writer.offset() } },
          );
        }
        await sleep(backoffDelay(policy, failures), options.signal);
      }
    }
    return writer;
  }

  private async fetchDocument(reference: Reference, desc: Descriptor, kind: 'manifests' | 'blobs', signal?: AbortSignal): Promise<Buffer> {
    const digest = validateDigest(desc.digest);
    const size = checkSize(desc);
    const what = `${kind === 'manifests' ? 'manifest' : 'blob'} ${digest} of ${formatReference(reference)}`;
    if (size > MAX_JSON_BLOB_BYTES) throw invalidArgument(`${what} is ${size} bytes, over the ${MAX_JSON_BLOB_BYTES} byte limit for JSON documents`, { fields: { digest, size } });
    const res = await this.transport.request({
      host: apiHost(reference.domain),
      path: `/v2/${reference.path}/${kind}/${digest}`,
      headers: kind === 'manifests' ? { accept: `${desc.mediaType}, ${MANIFEST_ACCEPT}` } : {},
      scope: pullScope(reference.path),
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404) {
      await res.body.dump().catch(() => undefined);
      throw notFound(`${what} not found in registry ${reference.domain}`, { fields: { digest, registry: reference.domain } });
    }
    if (res.status !== 200) throw await this.statusErrorWithBody(res, formatReference(reference), `fetch ${what}`);
    const data = await readLimitedBuffer(res.body, Math.min(size, MAX_JSON_BLOB_BYTES), what);
    if (data.length !== size) throw invalidArgument(`${what}: got ${data.length} bytes, the descriptor says ${size}`, { fields: { digest, size, actual: data.length } });
    const actual = digestOf(data);
    if (actual !== digest) throw invalidArgument(`${what}: digest mismatch: expected ${digest}, got ${actual}`, { fields: { expected: digest, actual } });
    return data;
  }

  private notFoundError(name: string, reference: Reference): Error {
    return notFound(`image ${name} not found: registry ${reference.domain} has no ${reference.digest ? 'manifest' : 'tag'} ${referenceObject(reference)} in repository ${reference.path} (or the repository does not exist)`, {
      fields: { ref: name, registry: reference.domain },
    });
  }

  private mismatch(name: string, expected: string, actual: string): Error {
    return invalidArgument(`manifest of ${name}: digest mismatch: expected ${expected}, got ${actual}`, { fields: { ref: name, expected, actual } });
  }

  private statusError(res: HttpResponse, name: string, action: string, detail = ''): Error {
    const host = res.url.host;
    if (res.status === 403) {
      return statusKindError('FailedPrecondition', `registry ${host} denied access to ${name} (403 Forbidden${detail}) while trying to ${action}`, host, res.status);
    }
    if (res.status >= 500) return statusKindError('Unavailable', `registry ${host} failed to ${action} ${name}: ${res.status}${detail}`, host, res.status);
    return statusKindError('FailedPrecondition', `registry ${host} answered ${res.status}${detail} to ${action} ${name}`, host, res.status);
  }

  private async statusErrorWithBody(res: HttpResponse, name: string, action: string): Promise<Error> {
    return this.statusError(res, name, action, res.status >= 400 ? (await errorDetail(res)).replace(/^ \((.*)\)$/, ': $1') : '');
  }
}

function statusKindError(kind: 'FailedPrecondition' | 'Unavailable', message: string, host: string, status: number): Error {
  const options = { fields: { registry: host, status } };
  if (kind === 'Unavailable') return unavailable(message, options);
  return status === 400 ? invalidArgument(message, options) : failedPrecondition(message, options);
}

/** The start of `bytes START-END/TOTAL`, or undefined. */
export function contentRangeStart(value: string | undefined): number | undefined {
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(value?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

function checkSize(desc: Descriptor): number {
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw invalidArgument(`descriptor ${desc.digest} has an invalid size ${desc.size}`);
  return desc.size;
}

/**
 * A write into the content store failed (disk full, read-only, I/O error):
 * the registry is not at fault and another try would fail the same way.
 */
function storeFailure(err: unknown, digest: string): never {
  if (isRuntimeError(err)) throw err;
  const message = err instanceof Error ? err.message : String(err);
  throw new RuntimeError('Internal', `cannot store blob ${digest} in the content store: ${message}`, { cause: err, fields: { digest } });
}
