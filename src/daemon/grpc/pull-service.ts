import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../errors.js';
import { parsePlatform } from '../../oci/platform.js';
import type { PullRequest, PullResponse } from '../../proto-ext.js';
import type { Daemon } from '../daemon.js';
import { pullImage, type PullOptions } from '../images/pull.js';
import { descriptorToProto } from './convert.js';
import { namespaceOf, serverStream } from './handlers.js';

/** ImagePull.Pull: the daemon pulls, streaming per-descriptor progress, then the image name and target. */
export function imagePullService(daemon: Daemon): grpc.UntypedServiceImplementation {
  const Pull = serverStream<PullRequest, PullResponse>(async (req, call) => {
    const namespace = namespaceOf(call);
    if (!req.ref) throw invalidArgument('pull needs an image reference');
    const controller = new AbortController();
    const onCancel = () => controller.abort(new Error('client canceled the pull'));
    call.on('cancelled', onCancel);
    try {
      // Held against garbage collection: blobs and snapshots exist before the image record refers to them.
      const options = pullOptions(req, controller.signal);
      const record = await daemon.gc.withHold(() =>
        pullImage(daemon, namespace, req.ref, options, (p) => {
          if (!call.cancelled) {
            call.write({ progress: { digest: p.digest, media_type: p.mediaType, offset: String(p.offset), total: String(p.total), status: p.status } });
          }
        }),
      );
      call.write({ result: { name: record.name, target: descriptorToProto(record.target) as never } });
    } finally {
      call.off('cancelled', onCancel);
    }
  });
  return { Pull };
}

/** Request fields to pull options, validated here (at the door). */
function pullOptions(req: PullRequest, signal: AbortSignal): PullOptions {
  if (req.secret && !req.username) throw invalidArgument('a secret needs a username');
  const max = Number(req.max_concurrent_downloads ?? 0);
  if (!Number.isInteger(max) || max < 0 || max > 64) throw invalidArgument('max_concurrent_downloads must be between 1 and 64 (0 for the default)');
  return {
    ...(req.platform ? { platform: parsePlatform(req.platform) } : {}),
    plainHttp: req.plain_http === true,
    insecureHosts: req.insecure_hosts ?? [],
    ...(req.username ? { credentials: { username: req.username, secret: req.secret ?? '' } } : {}),
    ...(req.tls_ca_pem ? { tlsCaPem: req.tls_ca_pem } : {}),
    ...(max > 0 ? { maxConcurrentDownloads: max } : {}),
    unpack: req.skip_unpack !== true,
    allPlatforms: req.all_platforms === true,
    signal,
  };
}
