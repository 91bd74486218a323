import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { invalidArgument } from '../../errors.js';
import type { Descriptor } from '../../oci/image-types.js';
import { onlyPlatform, parsePlatform } from '../../oci/platform.js';
import { exportOciArchive, type ExportImage } from '../../snapshot/export.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { normalizeImageRef } from '../image-ref.js';
import { remoteContent } from '../remote-content.js';

export const platformOptions: Record<string, OptionSpec> = {
  platform: { type: 'string', description: "platform to take from a multi-platform image, os/arch[/variant] (default: this machine's)", placeholder: 'PLATFORM' },
  'all-platforms': { type: 'boolean', description: 'every platform of a multi-platform image (all their content is needed)' },
};

/**
 * `ctr-ts images export OUT.tar|- REF...`: writes an OCI image layout archive
 * (plus docker's manifest.json), reading the images and their blobs over
 * Images.Get and Content.Read like `ctr images export`. A file is written
 * beside OUT and renamed at the end, so a failed export leaves no partial file.
 */
export async function imagesExport(client: DaemonClient, args: Parsed): Promise<number> {
  const [out, ...refs] = args.positionals;
  if (!out || refs.length === 0) throw invalidArgument('usage: ctr-ts images export [--platform P | --all-platforms] OUT.tar|- REF [REF...]');
  const images: ExportImage[] = [];
  for (const ref of refs) {
    const name = normalizeImageRef(ref);
    const { image } = await client.call('images', 'Get', { name });
    const t = image?.target;
    if (!t) throw invalidArgument(`image ${name} has no target`);
    const target: Descriptor = { mediaType: t.media_type, digest: t.digest, size: Number(t.size) };
    images.push({ name, target });
  }
  const options = {
    ...(typeof args.options.platform === 'string' ? { platform: onlyPlatform(parsePlatform(args.options.platform)) } : {}),
    allPlatforms: args.options['all-platforms'] === true,
  };
  const provider = remoteContent(client);
  if (out === '-') {
    await exportOciArchive(provider, images, process.stdout, options);
    return 0;
  }
  const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  const handle = await open(partial, 'wx', 0o644).catch((err: Error) => {
    throw invalidArgument(`cannot write ${out}: ${err.message}`);
  });
  try {
    const summary = await exportOciArchive(provider, images, handle.createWriteStream(), options);
    await rename(partial, out);
    process.stderr.write(`exported ${images.length} image${images.length === 1 ? '' : 's'} (${summary.blobs} blobs) to ${out}\n`);
    return 0;
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw err;
  }
}
