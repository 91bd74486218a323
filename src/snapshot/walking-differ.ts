/**
 * The Comparer over our snapshotter's mounts (containerd's walking differ
 * with its overlay fast path). Steps: check the media type and both mount
 * sets (before any ingest exists); pick the changes (the upper's own
 * overlay upperdir when upper = that dir over exactly the lower's layers,
 * else a side-by-side walk of both views); stream them as a tar, hashed for
 * the diffID, gzipped when asked, into the content store under the ref;
 * commit with the caller's labels plus the uncompressed label. Any failure
 * aborts the ingest, so no partial blob stays.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, pipeline, Readable, type Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import { unimplemented } from '../errors.js';
import { DockerMediaTypes, MediaTypes } from '../oci/image-types.js';
import type { Info, Ingester, Manager, Provider } from './content.js';
import { writeBlob } from './content-helpers.js';
import { treeChanges, upperDirChanges, type Change } from './diff-changes.js';
import { layerTar } from './diff-tar.js';
import { UNCOMPRESSED_LABEL, type Comparer, type DiffDescriptor, type DiffOptions, type XattrReader } from './differ.js';
import { HashTap } from './hash-tap.js';
import { checkLayers, layerStackOf, LayerView, type LayerStack } from './layer-view.js';
import type { Mount } from './snapshotter.js';

/** The layer media types a diff can be written as, and whether each is gzipped. */
const COMPRESSION: ReadonlyMap<string, 'gzip' | 'none'> = new Map([
  [MediaTypes.LayerGzip, 'gzip'],
  [MediaTypes.Layer, 'none'],
  [DockerMediaTypes.LayerGzip, 'gzip'],
  [DockerMediaTypes.Layer, 'none'],
]);

/** How a layer of `mediaType` is compressed; Unimplemented for any other media type (as containerd answers). */
export function diffCompression(mediaType: string): 'gzip' | 'none' {
  const c = COMPRESSION.get(mediaType);
  if (c === undefined) {
    throw unimplemented(`unsupported diff media type ${JSON.stringify(mediaType)}: use one of ${[...COMPRESSION.keys()].join(', ')}`, { fields: { mediaType } });
  }
  return c;
}

/** What the differ needs of the content store. */
export type DiffContentStore = Ingester & Pick<Provider, 'info'> & Pick<Manager, 'update'>;

/** containerd's walking differ over bind and overlay mounts, without mounting them. */
export class WalkingDiffer implements Comparer {
  constructor(
    private readonly content: DiffContentStore,
    private readonly xattrs: XattrReader,
  ) {}

  async compare(lower: Mount[], upper: Mount[], options: DiffOptions = {}): Promise<DiffDescriptor> {
    const mediaType = options.mediaType || MediaTypes.LayerGzip;
    const compression = diffCompression(mediaType);
    const lowerStack = layerStackOf(lower, 'the lower mounts');
    const upperStack = layerStackOf(upper, 'the upper mounts');
    await checkLayers(lowerStack, 'the lower mounts');
    await checkLayers(upperStack, 'the upper mounts');

    const tar = new HashTap();
    const output = pipeline(
      Readable.from(layerTar(this.changes(lowerStack, upperStack)), { objectMode: false }),
      tar,
      compression === 'gzip' ? createGzip() : new PassThrough(),
      () => undefined, // errors reach the reader of the last stream
    ) as Transform;
    const labels = (): Record<string, string> => ({ ...options.labels, ...(compression === 'gzip' ? { [UNCOMPRESSED_LABEL]: tar.digest() } : {}) });
    let info: Info;
    try {
      info = await writeBlob(this.content, output, { ref: options.ref || uniqueRef(), labels });
    } finally {
      output.destroy();
    }
    const uncompressed = compression === 'gzip' ? tar.digest() : info.digest;
    // The same layer was stored before (a pull, an earlier diff whose lease is gone): it gets this request's
    // labels too (containerd only adds the uncompressed one), else `--keep`'s gc.root would be lost on it.
    const wanted = labels();
    if (Object.entries(wanted).some(([k, v]) => info.labels[k] !== v)) info = await this.content.update(info.digest, { ...info.labels, ...wanted });
    return { mediaType, digest: info.digest, size: info.size, uncompressed };
  }

  private changes(lower: LayerStack, upper: LayerStack): AsyncIterable<Change> {
    const own = ownLayer(lower, upper);
    if (own !== undefined) return upperDirChanges(own, this.xattrs);
    return treeChanges(new LayerView(lower, this.xattrs), new LayerView(upper, this.xattrs), this.xattrs);
  }
}

/** The upper's top layer when the upper is exactly that layer over the lower's layers (overlay), else undefined. */
export function ownLayer(lower: LayerStack, upper: LayerStack): string | undefined {
  if (!upper.overlay || upper.layers.length !== lower.layers.length + 1) return undefined;
  return lower.layers.every((dir, i) => dir === upper.layers[i + 1]) ? upper.layers[0] : undefined;
}

/** A fresh ingest ref, as containerd's `<unix nanos>-<random>`. */
function uniqueRef(): string {
  return `diff-${Date.now()}-${randomBytes(6).toString('hex')}`;
}
