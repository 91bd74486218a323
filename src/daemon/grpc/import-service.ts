import { PassThrough } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../errors.js';
import { onlyPlatform, parsePlatform } from '../../oci/platform.js';
import type { ImportRequest, ImportResponse } from '../../proto-ext.js';
import type { Daemon } from '../daemon.js';
import { importImages, type ImageImportOptions } from '../images/import.js';
import { descriptorToProto } from './convert.js';
import { namespaceOf } from './handlers.js';
import { toServiceError } from './status.js';

/** ImageImport.Import: the client streams options then an archive; the daemon verifies, stores, unpacks and records it. */
export function imageImportService(daemon: Daemon): grpc.UntypedServiceImplementation {
  const Import: grpc.handleClientStreamingCall<ImportRequest, ImportResponse> = (call, callback) => {
    const archive = new PassThrough({ highWaterMark: 1 << 20 });
    let resolveOptions!: (o: ImportRequest['options'] | undefined) => void;
    const optionsReady = new Promise<ImportRequest['options'] | undefined>((r) => (resolveOptions = r));
    let first = true;
    call.on('data', (msg: ImportRequest) => {
      if (first) {
        first = false;
        resolveOptions(msg.options ?? undefined);
      }
      if (msg.chunk && msg.chunk.length > 0 && !archive.write(msg.chunk)) {
        call.pause();
        archive.once('drain', () => call.resume());
      }
    });
    call.on('end', () => {
      resolveOptions(undefined);
      archive.end();
    });
    call.on('error', (err) => archive.destroy(err));
    optionsReady
      .then((options) => {
        const ns = namespaceOf(call);
        if (!options) throw invalidArgument('import stream must start with options');
        // Held against garbage collection: blobs and snapshots exist before the image records refer to them.
        return daemon.gc.withHold(() => importImages(daemon, ns, archive, importOptions(options)));
      })
      .then(
        (images) => callback(null, { images: images.map((i) => ({ name: i.name, target: descriptorToProto(i.target) as never })) }),
        (err: unknown) => {
          archive.resume();
          callback(toServiceError(err));
        },
      );
  };
  return { Import };
}

/** The options message to import options, validated here (at the door). */
function importOptions(o: NonNullable<ImportRequest['options']>): ImageImportOptions {
  return {
    ...(o.platform ? { platform: onlyPlatform(parsePlatform(o.platform)) } : {}),
    allPlatforms: o.all_platforms === true,
    skipUnpack: o.skip_unpack === true,
  };
}
