import { invalidArgument } from '../../errors.js';
import { MediaTypes } from '../../oci/image-types.js';
import type { DiffHandlers, Mount as MountProto } from '../../proto-types.js';
import { applyLayer } from '../../snapshot/apply.js';
import type { Comparer } from '../../snapshot/differ.js';
import { validateDigest } from '../../snapshot/digest.js';
import { writableDir } from '../../snapshot/mounts.js';
import type { Mount } from '../../snapshot/snapshotter.js';
import type { GarbageCollector } from '../gc/collector.js';
import type { ContentNamespaces } from '../metadata/content.js';
import { LeaseResourceType, type LeaseStore } from '../metadata/leases.js';
import { leaseOf, namespaceOf, unary } from './handlers.js';

/** What the Diff service works with; without leases and gc a diff's blob is not attached to the caller's lease. */
export interface DiffServiceOptions {
  content: ContentNamespaces;
  /** The differ writing into a namespace's content. */
  differ: (namespace: string) => Comparer;
  leases?: LeaseStore;
  gc?: GarbageCollector;
}

/**
 * Diff: Apply extracts a layer blob from the caller's namespace's content into the
 * writable directory of the given mounts (an active snapshot's overlay
 * upperdir or rw bind source), under the same extraction rules as our own
 * unpack, and answers with the uncompressed layer's descriptor (its diffID),
 * which the client checks against the image config. Diff writes the layer
 * between two mount sets (left = lower, right = upper) into the content
 * store; under a `containerd-lease` the new blob joins that lease, so it
 * survives until the client (ctr snapshots diff, ctr commit) has read it.
 */
export function diffService({ content, differ, leases, gc }: DiffServiceOptions): DiffHandlers {
  return {
    Apply: unary(async (req, call) => {
      if (!req.diff) throw invalidArgument('Diff.Apply needs the layer descriptor');
      const digest = validateDigest(req.diff.digest);
      const target = writableDir(toMounts(req.mounts));
      const stream = await content.forNamespace(namespaceOf(call)).reader(digest);
      const applied = await applyLayer(stream, req.diff.media_type, target);
      return { applied: { media_type: MediaTypes.Layer, digest: applied.diffId, size: String(applied.size), annotations: {} } };
    }),
    Diff: unary(async (req, call) => {
      const ns = namespaceOf(call);
      const compare = () => differ(ns).compare(toMounts(req.left), toMounts(req.right), { mediaType: req.media_type, ref: req.ref, labels: req.labels });
      const lease = leaseOf(call);
      let layer;
      if (lease === undefined || leases === undefined || gc === undefined) {
        layer = await compare();
      } else {
        leases.get(ns, lease); // NotFound before any work
        // No collection between the commit and the lease taking the blob.
        layer = await gc.withHold(async () => {
          const out = await compare();
          leases.addResource(ns, lease, { type: LeaseResourceType.content, id: out.digest });
          return out;
        });
      }
      return { diff: { media_type: layer.mediaType, digest: layer.digest, size: String(layer.size), annotations: {} } };
    }),
  };
}

function toMounts(mounts: MountProto[]): Mount[] {
  return mounts.map((m) => ({ type: m.type, source: m.source, options: m.options }));
}
