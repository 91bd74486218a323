import { PassThrough } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../errors.js';
import type { ImportRequest, ImportResponse } from '../../proto-ext.js';
import type { Daemon } from '../daemon.js';
import { importImages } from '../images/import.js';
import { descriptorToProto } from './convert.js';
import { namespaceOf } from './handlers.js';
import { toServiceError } from './status.js';

/** ImageImport.Import: the client streams an archive; the daemon verifies, stores, unpacks and records it. */
export function imageImportService(daemon: Daemon): grpc.UntypedServiceImplementation {
  const Import: grpc.handleClientStreamingCall<ImportRequest, ImportResponse> = (call, callback) => {
    const archive = new PassThrough({ highWaterMark: 1 << 20 });
    let sawOptions = false;
    call.on('data', (msg: ImportRequest) => {
      if (msg.options) sawOptions = true;
      if (msg.chunk && msg.chunk.length > 0 && !archive.write(msg.chunk)) {
        call.pause();
        archive.once('drain', () => call.resume());
      }
    });
    call.on('end', () => archive.end());
    call.on('error', (err) => archive.destroy(err));
    Promise.resolve()
      .then(() => {
        const ns = namespaceOf(call);
        return importImages(daemon, ns, archive).then((images) => {
          if (!sawOptions) throw invalidArgument('import stream must start with options');
          return images;
        });
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
