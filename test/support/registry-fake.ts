/**
 * An in-process registry for unit tests of the distribution client: serves
 * manifests and blobs from memory over the v2 API on 127.0.0.1, with knobs
 * for auth (basic, bearer with its own token endpoint), faults (statuses,
 * connections cut mid-blob, Range ignored, redirects) and a request log.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

interface Stored {
  mediaType: string;
  data: Buffer;
}

/** A fault injected into matching requests (first `times` matches). */
export interface Fault {
  match: (req: IncomingMessage) => boolean;
  times: number;
  /** Answer with this status (and optional headers) instead. */
  status?: number;
  headers?: Record<string, string>;
  /** Send the headers and this many body bytes, then destroy the socket. */
  cutAfter?: number;
}

export interface FakeRegistryOptions {
  auth?: { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; username?: string; password?: string; ttl?: number };
  /** Answer HEAD on manifests with 405 (like some registries) to force the GET path. */
  noHead?: boolean;
  /** Serve manifests with this Content-Type instead of their media type. */
  manifestContentType?: string;
  /** Ignore Range headers on blobs (answer 200 with everything). */
  ignoreRange?: boolean;
  /** Redirect blob GETs to this other server's /blob-store/<digest> (see `blobStore`). */
  redirectBlobsTo?: FakeRegistry;
}

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export class FakeRegistry {
  readonly log: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, Map<string, Stored>>();
  tokensIssued = 0;
  private server!: Server;
  private tokenCounter = 0;
  private readonly validTokens = new Map<string, string[]>();

  constructor(readonly options: FakeRegistryOptions = {}) {}

  get host(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        res.statusCode = 500;
        res.end(String(err.message));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stores a blob; returns its descriptor fields. */
  addBlob(data: Buffer | string, mediaType = 'application/octet-stream'): { mediaType: string; digest: string; size: number } {
    const buf = Buffer.from(data);
    const digest = sha256(buf);
    this.blobs.set(digest, buf);
    return { mediaType, digest, size: buf.length };
  }

  /** Stores a manifest (or index) under its digest and the given tags. */
  addManifest(repo: string, doc: unknown, mediaType: string, tags: string[] = []): { mediaType: string; digest: string; size: number } {
    const data = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
    const digest = sha256(data);
    let m = this.manifests.get(repo);
    if (!m) this.manifests.set(repo, (m = new Map()));
    for (const key of [digest, ...tags]) m.set(key, { mediaType, data });
    return { mediaType, digest, size: data.length };
  }

  /** Adds a fault for requests whose URL path matches `pattern`. */
  fault(pattern: RegExp, f: Omit<Fault, 'match'>): void {
    this.faults.push({ ...f, match: (req) => pattern.test(req.url ?? '') });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.log.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    if (url.pathname === '/token') return this.token(req, url, res);
    if (url.pathname.startsWith('/blob-store/')) return this.sendBlob(req, res, url.pathname.slice('/blob-store/'.length));
    const fault = this.faults.find((f) => f.times > 0 && f.match(req));
    if (fault && fault.status !== undefined) {
      fault.times--;
      res.writeHead(fault.status, fault.headers ?? {});
      res.end(JSON.stringify({ errors: [{ code: 'FAULT', message: 'injected' }] }));
      return;
    }
    if (!this.authorized(req, url, res)) return;
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (url.pathname === '/v2/' || url.pathname === '/v2') return void res.end('{}');
    if (!m) return this.error(res, 404, 'NAME_UNKNOWN');
    const [, repo, kind, object] = m as unknown as [string, string, string, string];
    if (kind === 'manifests') {
      const stored = this.manifests.get(repo)?.get(object);
      if (!stored) return this.error(res, 404, 'MANIFEST_UNKNOWN');
      if (req.method === 'HEAD' && this.options.noHead) return void res.writeHead(405).end();
      res.writeHead(200, {
        'content-type': this.options.manifestContentType ?? stored.mediaType,
        'content-length': String(stored.data.length),
        'docker-content-digest': sha256(stored.data),
      });
      if (req.method !== 'HEAD' && fault && fault.cutAfter !== undefined) {
        fault.times--;
        res.write(stored.data.subarray(0, fault.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      res.end(req.method === 'HEAD' ? undefined : stored.data);
      return;
    }
    if (this.options.redirectBlobsTo) {
      res.writeHead(307, { location: `http://${this.options.redirectBlobsTo.host}/blob-store/${object}` });
      res.end();
      return;
    }
    return this.sendBlob(req, res, object, fault);
  }

  private sendBlob(req: IncomingMessage, res: ServerResponse, digest: string, fault?: Fault): void {
    const blob = this.blobs.get(digest);
    if (!blob) return this.error(res, 404, 'BLOB_UNKNOWN');
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !this.options.ignoreRange) {
      start = Number(range[1]);
      if (start >= blob.length) return void res.writeHead(416).end();
      res.writeHead(206, { 'content-length': String(blob.length - start), 'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}` });
    } else {
      res.writeHead(200, { 'content-length': String(blob.length), 'docker-content-digest': digest });
    }
    const body = blob.subarray(start);
    if (req.method === 'HEAD') return void res.end();
    if (fault && fault.cutAfter !== undefined) {
      fault.times--;
      res.write(body.subarray(0, fault.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }

  private authorized(req: IncomingMessage, url: URL, res: ServerResponse): boolean {
    const auth = this.options.auth;
    if (!auth) return true;
    const header = req.headers.authorization ?? '';
    if (auth.kind === 'basic') {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (header === expected) return true;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return false;
    }
    const repo = /^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(url.pathname)?.[1];
    const scope = repo ? `repository:${repo}:pull` : '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (token && (this.validTokens.get(token) ?? []).includes(scope)) return true;
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${this.host}/token",service="fake-registry",scope="${scope}"` });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token required' }] }));
    return false;
  }

  private token(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const auth = this.options.auth;
    if (auth?.kind !== 'bearer') return this.error(res, 404, 'NO_TOKEN_SERVER');
    if (auth.username !== undefined) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return this.error(res, 401, 'UNAUTHORIZED');
    }
    this.tokensIssued++;
    const token = `tok-${++this.tokenCounter}`;
    this.validTokens.set(token, url.searchParams.getAll('scope'));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: auth.ttl ?? 300 }));
  }

  private error(res: ServerResponse, status: number, code: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message: code.toLowerCase() }] }));
  }
}

/** A small image in a fake registry: one config, `layers` gzip-free layer blobs, a manifest tagged `tag`, optionally inside an index. */
export function addImage(reg: FakeRegistry, repo: string, tag: string, layers: Buffer[], options: { index?: boolean; arch?: string } = {}) {
  const config = reg.addBlob(JSON.stringify({ architecture: options.arch ?? 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } }), 'application/vnd.oci.image.config.v1+json');
  const layerDescs = layers.map((l) => reg.addBlob(l, 'application/vnd.oci.image.layer.v1.tar'));
  const manifestDoc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: layerDescs };
  const manifest = reg.addManifest(repo, manifestDoc, 'application/vnd.oci.image.manifest.v1+json', options.index ? [] : [tag]);
  let index: ReturnType<FakeRegistry['addManifest']> | undefined;
  if (options.index) {
    index = reg.addManifest(
      repo,
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...manifest, platform: { os: 'linux', architecture: options.arch ?? 'amd64' } }] },
      'application/vnd.oci.image.index.v1+json',
      [tag],
    );
  }
  return { config, layers: layerDescs, manifest, manifestDoc, index };
}
