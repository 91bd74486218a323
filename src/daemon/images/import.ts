import type { Readable } from 'node:stream';
import { invalidArgument } from '../../errors.js';
import type { PlatformMatcher } from '../../oci/platform.js';
import type { Daemon } from '../daemon.js';
import type { ImageRecord } from '../metadata/db.js';
import { providerSource, resolveManifest } from '../../snapshot/image-resolve.js';

/** Options of one import, validated by the caller (the gRPC edge). */
export interface ImageImportOptions {
  /** Platform to keep and unpack (default: the host's). */
  platform?: PlatformMatcher;
  /** Keep every platform's content; unpack only `platform`'s. */
  allPlatforms?: boolean;
  /** Store only; do not unpack into snapshots. */
  skipUnpack?: boolean;
}

/**
 * Import as named steps: verify and store the blobs the chosen platforms
 * need (OCI image layout or docker save archive, detected), unpack each
 * image's layers for the platform into snapshots, then write the image
 * records in one transaction. A failure before the last step leaves no image
 * record; committed blobs are content-addressed and verified, so they are
 * harmless (and, unreferenced, left for the garbage collector).
 */
export async function importImages(daemon: Daemon, namespace: string, archive: Readable, options: ImageImportOptions = {}): Promise<ImageRecord[]> {
  // Loaded on first import: the daemon's start-up does not pay for the tar and unpack code.
  const [{ importImageArchive }, { unpackImage }] = await Promise.all([import('../../snapshot/import.js'), import('../../snapshot/unpack.js')]);
  // The archive's blobs go into this namespace's content (ones another namespace has are only hashed, not stored again).
  const content = daemon.content.forNamespace(namespace);
  const { images, format } = await importImageArchive(archive, content, {
    ...(options.platform ? { platform: options.platform } : {}),
    allPlatforms: options.allPlatforms === true,
  });
  if (images.length === 0) {
    throw invalidArgument(
      format === 'oci'
        ? 'the archive names no image (no io.containerd.image.name or org.opencontainers.image.ref.name annotation in index.json)'
        : 'the archive names no image (no RepoTags in manifest.json)',
    );
  }
  daemon.namespaces.ensure(namespace);
  if (options.skipUnpack !== true) {
    const unpacked = new Set<string>();
    for (const image of images) {
      if (image.manifest === undefined || unpacked.has(image.manifest.digest)) continue;
      const { manifest } = await resolveManifest(providerSource(content), image.manifest);
      await unpackImage({ content, snapshotter: daemon.snapshotter, manifest, keyPrefix: `${namespace}/` });
      unpacked.add(image.manifest.digest);
    }
  }
  const records = daemon.db.transaction(() =>
    images.map((i) => daemon.images.put(namespace, { name: i.name, labels: {}, target: { mediaType: i.target.mediaType, digest: i.target.digest, size: i.target.size } })),
  );
  for (const r of records) {
    daemon.events.publish(namespace, 'imageCreate', { name: r.name, labels: r.labels });
    daemon.log.info('image imported', { namespace, name: r.name, digest: r.target.digest, format });
  }
  return records;
}
