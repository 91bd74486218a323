/**
 * Daemon-side image pull as named steps (containerd's client.Pull, done in
 * the daemon so the CLI only shows progress): resolve the reference, read
 * the index (choosing this platform's manifest), the manifest and the
 * config, download the layers in parallel into the content store, store the
 * JSON documents last (children first, with containerd's GC labels), unpack
 * the layers into snapshots and write the image record. An unknown
 * reference or any failure before the last step leaves no image record; a
 * bad blob is never committed.
 */
import { Readable } from 'node:stream';
import { RuntimeError, invalidArgument, isRuntimeError, notFound } from '../../errors.js';
import {
  isImageConfig,
  isIndex,
  isIndexMediaType,
  isManifest,
  isManifestMediaType,
  parseJsonBlob,
  type Descriptor,
  type ImageConfig,
  type Index,
  type Manifest,
  type Platform,
} from '../../oci/image-types.js';
import { formatPlatform, hostPlatform, onlyPlatform, selectManifest } from '../../oci/platform.js';
import { RegistryClient, type BlobTap } from '../../oci/distribution/client.js';
import type { Credentials } from '../../oci/distribution/credentials.js';
import { Limiter } from '../../oci/distribution/limit.js';
import { parseReference, type Reference } from '../../oci/distribution/reference.js';
import type { ContentStore } from '../../snapshot/content.js';
import { writeBlob } from '../../snapshot/content-helpers.js';
import type { LayerApply } from '../../snapshot/apply.js';
import { validateDigest, type Digest } from '../../snapshot/digest.js';
import { StreamingUnpack } from '../../snapshot/unpack-stream.js';
import type { Daemon } from '../daemon.js';
import type { ImageRecord } from '../metadata/db.js';
import { sharedDownload, withKeyLock } from './pull-inflight.js';
import { ProgressThrottle, type PullProgress } from './pull-progress.js';
import { DEFAULT_REGISTRY_CONFIG, registryClientOptions, type RegistryConfig } from './registry-config.js';

export type { PullProgress, PullStatus } from './pull-progress.js';

/** Options of one pull; everything optional. */
export interface PullOptions {
  /** Platform to pull from an index (default: the host's, linux/amd64). */
  platform?: Platform;
  /** Speak plain HTTP to the reference's registry (ctr's --plain-http). */
  plainHttp?: boolean;
  /** More hosts to speak plain HTTP to. */
  insecureHosts?: string[];
  /** Credentials for the reference's registry (ctr's --user), tried before the credentials file. */
  credentials?: Credentials;
  /** An extra CA certificate (PEM) trusted for the reference's registry. */
  tlsCaPem?: string;
  /** Parallel layer downloads (default 3). */
  maxConcurrentDownloads?: number;
  /** Unpack the layers into snapshots (default true). */
  unpack?: boolean;
  /** Fetch every manifest of an index with its config and layers (only `platform`'s is unpacked). */
  allPlatforms?: boolean;
  signal?: AbortSignal;
  /** Overrides of the daemon's registry settings (tests). */
  registry?: Partial<RegistryConfig>;
}

/** containerd's GC reference labels, so content GC keeps what an image needs. */
const GC_CONTENT = 'containerd.io/gc.ref.content';
const DISTRIBUTION_SOURCE = 'containerd.io/distribution.source';

/** Pulls `ref` into `namespace`; `onProgress` sees every descriptor's progress. Returns the image record. */
export async function pullImage(
  daemon: Daemon,
  namespace: string,
  ref: string,
  options: PullOptions = {},
  onProgress: (p: PullProgress) => void = () => undefined,
): Promise<ImageRecord> {
  const reference = parseReference(ref);
  const config: RegistryConfig = { ...(daemon.config?.registry ?? DEFAULT_REGISTRY_CONFIG), ...options.registry };
  const progress = new ProgressThrottle(onProgress);
  const client = new RegistryClient(
    registryClientOptions(config, reference, options, (f) =>
      daemon.log.warn('registry mirror failed, trying the next', { mirror: f.mirror, registry: f.registry, what: f.what, error: f.error.message }),
    ),
  );
  const { signal } = options;
  try {
    const resolved = await client.resolve(reference, signal);
    const root = resolved.descriptor;
    progress.emit(root, 'resolved', 0);
    const rootData = resolved.data ?? (await client.fetchManifest(reference, root, signal));
    const { manifestDesc, manifestData, index } = await selectPlatformManifest(client, reference, root, rootData, options.platform ?? hostPlatform(), signal);
    const manifest = parseJsonBlob<Manifest>(manifestData, `manifest ${manifestDesc.digest}`, isManifest);
    progress.emit(manifestDesc, 'done', manifestDesc.size);
    const configData = await client.fetchJsonBlob(reference, manifest.config, signal);
    progress.emit(manifest.config, 'done', manifest.config.size);

    const imageConfig = parseJsonBlob<ImageConfig>(configData, `image config ${manifest.config.digest}`, isImageConfig);
    daemon.namespaces.ensure(namespace);
    // Everything below reads and writes this namespace's content; blobs another namespace has are committed without a download.
    const content = daemon.content.forNamespace(namespace);
    const unpack =
      options.unpack === false
        ? undefined
        : new StreamingUnpack({ content, snapshotter: daemon.snapshotter, layers: manifest.layers, diffIds: imageConfig.rootfs.diff_ids, keyPrefix: `${namespace}/` });
    if (unpack) progress.emit(manifestDesc, 'unpacking', 0);
    try {
      await fetchLayers(client, reference, content, namespace, manifest.layers, options, progress, unpack);
      checkAborted(signal);
      await unpack?.finish();
    } catch (err) {
      await unpack?.cleanup();
      throw err;
    }
    const otherPlatforms =
      options.allPlatforms && index !== undefined ? await fetchOtherPlatforms(client, reference, content, namespace, root, rootData, manifestDesc, options, progress) : {};
    checkAborted(signal);

    // Children before parents, so a stored manifest never points at missing content.
    await storeDocument(content, manifest.config, configData, {});
    await storeDocument(content, manifestDesc, manifestData, manifestLabels(manifest));
    if (index !== undefined) await storeDocument(content, root, rootData, { [`${GC_CONTENT}.m.${index.position}`]: manifestDesc.digest, ...otherPlatforms });
    progress.emit(root, 'done', root.size);
    if (unpack) progress.emit(manifestDesc, 'unpacked', manifestDesc.size);
    checkAborted(signal);
    let existed = true;
    try {
      daemon.images.get(namespace, resolved.name);
    } catch {
      existed = false;
    }
    const record = daemon.images.put(namespace, {
      name: resolved.name,
      labels: {},
      target: { mediaType: root.mediaType, digest: root.digest, size: root.size },
    });
    daemon.events.publish(namespace, existed ? 'imageUpdate' : 'imageCreate', { name: record.name, labels: record.labels });
    daemon.log.info('image pulled', { namespace, name: record.name, digest: root.digest, platform: formatPlatform(options.platform ?? hostPlatform()) });
    return record;
  } finally {
    progress.flush();
    await client.close();
  }
}

/** For an index: the best manifest for `platform` (NotFound listing what there is); for a manifest: itself. */
async function selectPlatformManifest(
  client: RegistryClient,
  reference: Reference,
  root: Descriptor,
  rootData: Buffer,
  platform: Platform,
  signal: AbortSignal | undefined,
): Promise<{ manifestDesc: Descriptor; manifestData: Buffer; index?: { position: number } }> {
  if (!isIndexMediaType(root.mediaType)) return { manifestDesc: root, manifestData: rootData };
  const index = parseJsonBlob<Index>(rootData, `index ${root.digest}`, isIndex);
  const chosen = selectManifest(index.manifests, onlyPlatform(platform));
  if (chosen === undefined) {
    const available = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform as Platform));
    throw notFound(`image ${reference.domain}/${reference.path} has no manifest for platform ${formatPlatform(platform)} (available: ${available.join(', ') || 'none'})`, {
      fields: { platform: formatPlatform(platform) },
    });
  }
  if (isIndexMediaType(chosen.mediaType)) throw invalidArgument(`index ${root.digest} nests another index for ${formatPlatform(platform)}; nested indexes are not supported`);
  const manifestData = await client.fetchManifest(reference, chosen, signal);
  return { manifestDesc: chosen, manifestData, index: { position: index.manifests.indexOf(chosen) } };
}

/**
 * Downloads every distinct layer, at most `maxConcurrentDownloads` at once;
 * the first failure fails the pull. With an unpack, each layer is extracted
 * while it downloads (the download is teed into the layer's apply) when an
 * extraction thread is free, and completed once its blob is verified;
 * positions repeating a digest, layers whose bytes did not stream in one
 * piece and layers that found no free thread unpack from the store.
 */
async function fetchLayers(
  client: RegistryClient,
  reference: Reference,
  content: ContentStore,
  namespace: string,
  layers: Descriptor[],
  options: PullOptions,
  progress: ProgressThrottle,
  unpack: StreamingUnpack | undefined,
): Promise<void> {
  const limit = new Limiter(options.maxConcurrentDownloads ?? options.registry?.maxConcurrentDownloads ?? DEFAULT_REGISTRY_CONFIG.maxConcurrentDownloads);
  const positions = new Map<string, number[]>();
  layers.forEach((l, i) => positions.set(l.digest, [...(positions.get(l.digest) ?? []), i]));
  const unique = [...new Map(layers.map((l) => [l.digest, l])).values()];
  const failFast = new AbortController();
  const onAbort = () => failFast.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  for (const layer of unique) progress.emit(layer, 'waiting', 0);
  const labels = { [`${DISTRIBUTION_SOURCE}.${reference.domain}`]: reference.path };
  const stopUnpack = () => void unpack?.stop();
  failFast.signal.addEventListener('abort', stopUnpack, { once: true });
  try {
    const outcomes = await Promise.allSettled(
      unique.map(async (layer) => {
        try {
          const digest = validateDigest(layer.digest);
          const [first, ...repeats] = positions.get(layer.digest) as number[];
          // Only the download holds a download slot: applying a layer from the store (or the tail of a streamed one) does not.
          const tap = await limit.run(async () => {
            checkAborted(failFast.signal);
            const apply = unpack ? await unpack.begin(first as number) : undefined;
            const tap = apply ? new CountingTap(apply, layer.size, () => unpack?.complete(first as number, true)) : undefined;
            let started = false;
            const result = await sharedDownload(
              digest,
              (signal, report) => {
                started = true;
                return client.fetchBlob(reference, layer, content, { labels, signal, onProgress: report, ...(tap ? { tap } : {}) });
              },
              failFast.signal,
              (offset, total) => progress.emit(layer, 'downloading', offset, total),
            );
            // Another pull's download (maybe of another namespace): the blob is in the shared store, so this commits it here without a download.
            if (!started) await withKeyLock(`${namespace}\n${digest}`, () => client.fetchBlob(reference, layer, content, { labels, signal: failFast.signal }));
            progress.emit(layer, result.fetched ? 'done' : 'exists', layer.size);
            return tap;
          });
          if (unpack) {
            if (tap?.error !== undefined) throw tap.error; // the layer itself is bad: no second try from the store
            await (tap?.completion ?? unpack.complete(first as number, false));
            for (const i of repeats) await unpack.complete(i, false);
          }
        } catch (err) {
          failFast.abort(err);
          throw err;
        }
      }),
    );
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) {
      // Report the root cause, not the cancellations it caused in the other downloads.
      const cause: unknown = failFast.signal.reason;
      throw isRuntimeError(cause) ? cause : failed.reason;
    }
  } finally {
    failFast.signal.removeEventListener('abort', stopUnpack);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * --all-platforms: fetches and stores every other manifest of the index,
 * with its config and layers (content only: nothing else is unpacked).
 * Returns the index's GC labels for them.
 */
async function fetchOtherPlatforms(
  client: RegistryClient,
  reference: Reference,
  content: ContentStore,
  namespace: string,
  root: Descriptor,
  rootData: Buffer,
  chosen: Descriptor,
  options: PullOptions,
  progress: ProgressThrottle,
): Promise<Record<string, string>> {
  const index = parseJsonBlob<Index>(rootData, `index ${root.digest}`, isIndex);
  const labels: Record<string, string> = {};
  for (const [position, desc] of index.manifests.entries()) {
    if (desc.digest === chosen.digest || !isManifestMediaType(desc.mediaType)) continue;
    checkAborted(options.signal);
    const data = await client.fetchManifest(reference, desc, options.signal);
    const manifest = parseJsonBlob<Manifest>(data, `manifest ${desc.digest}`, isManifest);
    const configData = await client.fetchJsonBlob(reference, manifest.config, options.signal);
    await fetchLayers(client, reference, content, namespace, manifest.layers, options, progress, undefined);
    await storeDocument(content, manifest.config, configData, {});
    await storeDocument(content, desc, data, manifestLabels(manifest));
    progress.emit(desc, 'done', desc.size);
    labels[`${GC_CONTENT}.m.${position}`] = desc.digest;
  }
  return labels;
}

/**
 * The download's tee into a layer apply. It never fails the download (which
 * other pulls may share): an extraction error is kept for the owner and the
 * remaining bytes are dropped. Once it has seen the whole blob, in one piece
 * from byte 0, it completes the layer (`onWhole`) at once, while the blob is
 * still being verified and synced: the layer's diffID is checked against the
 * config either way, and a blob that then fails verification fails the pull,
 * whose cleanup removes every snapshot it made. The sync (up to a second
 * when the disk is busy) thus runs beside the snapshot commits, not before.
 */
class CountingTap implements BlobTap {
  private bytes = 0;
  private broken = false;
  /** The extraction's error, if it failed while streaming. */
  error: unknown;
  /** The layer's completion, once started here. */
  completion: Promise<void> | undefined;

  constructor(
    private readonly apply: LayerApply,
    private readonly size: number,
    private readonly onWhole: () => Promise<void> | undefined,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.broken || this.completion !== undefined) return; // bytes past the blob's size: the download fails on them anyway
    this.bytes += chunk.byteLength;
    try {
      await this.apply.write(chunk);
    } catch (err) {
      this.broken = true;
      this.error ??= err;
      return;
    }
    if (this.bytes === this.size && this.completion === undefined) {
      this.completion = this.onWhole();
      this.completion?.catch(() => undefined); // awaited by the owner once the download is done
    }
  }

  cut(): void {
    this.broken = true;
  }
}

/** Stores a verified JSON document (idempotent), merging our labels into an existing blob's. */
async function storeDocument(content: ContentStore, desc: Descriptor, data: Buffer, labels: Record<string, string>): Promise<void> {
  const digest = validateDigest(desc.digest) as Digest;
  await withKeyLock(digest, async () => {
    const info = await writeBlob(content, Readable.from([data]), { ref: `pull-${digest}`, expected: { digest, size: desc.size }, labels });
    const missing = Object.entries(labels).some(([k, v]) => info.labels[k] !== v);
    if (missing) await content.update(digest, { ...info.labels, ...labels });
  });
}

function manifestLabels(manifest: Manifest): Record<string, string> {
  const labels: Record<string, string> = { [`${GC_CONTENT}.config`]: manifest.config.digest };
  manifest.layers.forEach((l, i) => (labels[`${GC_CONTENT}.l.${i}`] = l.digest));
  return labels;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw isRuntimeError(signal.reason) ? signal.reason : new RuntimeError('Canceled', 'pull canceled');
}
