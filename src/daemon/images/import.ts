import type { Readable } from 'node:stream';
import { invalidArgument } from '../../errors.js';
import type { Daemon } from '../daemon.js';
import type { ImageRecord } from '../metadata/db.js';
import { providerSource, resolveManifest } from '../../snapshot/image-resolve.js';

/**
 * Import as named steps: verify and store every blob, unpack each image's
 * layers for this platform into snapshots, then write the image records in
 * one transaction. A failure before the last step leaves no image record;
 * committed blobs are content-addressed and verified, so they are harmless.
 */
export async function importImages(daemon: Daemon, namespace: string, archive: Readable): Promise<ImageRecord[]> {
  // Loaded on first import: the daemon's start-up does not pay for the tar and unpack code.
  const [{ importOciArchive }, { unpackImage }] = await Promise.all([import('../../snapshot/import.js'), import('../../snapshot/unpack.js')]);
  const { images } = await importOciArchive(archive, daemon.content);
  if (images.length === 0) throw invalidArgument('the archive names no image (no org.opencontainers.image.ref.name annotation in index.json)');
  daemon.namespaces.ensure(namespace);
  for (const image of images) {
    const { manifest } = await resolveManifest(providerSource(daemon.content), image.manifest);
    await unpackImage({ content: daemon.content, snapshotter: daemon.snapshotter, manifest, keyPrefix: `${namespace}/` });
  }
  const records = daemon.db.transaction(() =>
    images.map((i) => daemon.images.put(namespace, { name: i.name, labels: {}, target: { mediaType: i.target.mediaType, digest: i.target.digest, size: i.target.size } })),
  );
  for (const r of records) {
    daemon.events.publish(namespace, 'imageCreate', { name: r.name, labels: r.labels });
    daemon.log.info('image imported', { namespace, name: r.name, digest: r.target.digest });
  }
  return records;
}
