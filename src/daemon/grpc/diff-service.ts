import { invalidArgument, unimplemented } from '../../errors.js';
import { MediaTypes } from '../../oci/image-types.js';
import type { DiffHandlers } from '../../proto-types.js';
import { applyLayer } from '../../snapshot/apply.js';
import type { Provider } from '../../snapshot/content.js';
import { validateDigest } from '../../snapshot/digest.js';
import { writableDir } from '../../snapshot/mounts.js';
import type { Mount } from '../../snapshot/snapshotter.js';
import { unary } from './handlers.js';

/**
 * Diff: Apply extracts a layer blob from the content store into the
 * writable directory of the given mounts (an active snapshot's overlay
 * upperdir or rw bind source), under the same extraction rules as our own
 * unpack, and answers with the uncompressed layer's descriptor (its diffID),
 * which the client checks against the image config. Diff (creating a layer
 * from two mounts) is not served.
 */
export function diffService(content: Provider): DiffHandlers {
  return {
    Apply: unary(async (req) => {
      if (!req.diff) throw invalidArgument('Diff.Apply needs the layer descriptor');
      const digest = validateDigest(req.diff.digest);
      const mounts: Mount[] = req.mounts.map((m) => ({ type: m.type, source: m.source, options: m.options }));
      const target = writableDir(mounts);
      const stream = await content.reader(digest);
      const applied = await applyLayer(stream, req.diff.media_type, target);
      return { applied: { media_type: MediaTypes.Layer, digest: applied.diffId, size: String(applied.size), annotations: {} } };
    }),
    Diff: unary(() => {
      throw unimplemented('Diff.Diff (creating a layer from two snapshots, as used by ctr snapshots diff and commit) is not implemented by containerd-ts');
    }),
  };
}
