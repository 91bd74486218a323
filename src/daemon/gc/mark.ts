/**
 * The mark phase of garbage collection (containerd's metadata/gc.go, by
 * behaviour): starting from the roots (images, containers, unexpired leases,
 * `containerd.io/gc.root` labels) follow every reference to content and
 * snapshots and return what is live. Content is namespaced: a reference
 * seen from a namespace keeps that namespace's record of the digest (and is
 * followed through that record's labels), not another namespace's. References are:
 *   - an image's target, an index's manifests, a manifest's config and layers
 *     (read from the JSON, so images stored without GC labels are safe);
 *   - `containerd.io/gc.ref.content[.*]` labels on content and snapshots;
 *   - `containerd.io/gc.ref.snapshot.overlayfs[.*]` labels on content and snapshots;
 *   - an image config's layer chain ID, the snapshot its layers unpack to;
 *   - a snapshot's parent.
 * Pure over the `MarkSource` it reads, so it is unit-tested without a daemon.
 */
import { isImageConfig, isIndex, isIndexMediaType, isManifest, isManifestMediaType, MAX_JSON_BLOB_BYTES } from '../../oci/image-types.js';
import { chainId } from '../../snapshot/chain-id.js';
import { isDigest, type Digest } from '../../snapshot/digest.js';
import type { Info as SnapshotInfo } from '../../snapshot/snapshotter.js';

export const GC_ROOT_LABEL = 'containerd.io/gc.root';
export const GC_REF_CONTENT = 'containerd.io/gc.ref.content';
export const GC_REF_SNAPSHOT = 'containerd.io/gc.ref.snapshot.';
/** The one snapshotter this daemon has; snapshot references to others are ignored. */
const SNAPSHOTTER = 'overlayfs';

/** A reference to content in a namespace (its labels, and snapshot references, resolve inside that namespace). */
export interface ContentRoot {
  namespace: string;
  digest: string;
  /** The media type, when the referrer says it (decides whether the JSON is read). */
  mediaType?: string;
}

/** Everything that keeps something alive, gathered before marking. */
export interface Roots {
  content: ContentRoot[];
  /** Full snapshot keys (`<namespace>/<key>`). */
  snapshots: string[];
  /** Leased ingests, as `<namespace>/<ref>`. */
  ingests: string[];
}

/** What the mark phase reads. */
export interface MarkSource {
  /** Labels of the namespace's record of a blob, or undefined if the namespace has none. */
  contentLabels(namespace: string, digest: Digest): Promise<Record<string, string> | undefined>;
  /** The blob's bytes if the namespace has it and it is at most `maxBytes`, else undefined. */
  readSmall(namespace: string, digest: Digest, maxBytes: number): Promise<Buffer | undefined>;
  /** A snapshot by full key, or undefined. */
  snapshot(key: string): SnapshotInfo | undefined;
}

/** The live set. */
export interface Live {
  /** Live content records, as `liveContentKey(namespace, digest)`. */
  content: Set<string>;
  snapshots: Set<string>;
  ingests: Set<string>;
}

type Role = 'index' | 'manifest' | 'config' | 'other';

/** Follows every reference from `roots`; returns what must be kept. */
export async function markLive(roots: Roots, source: MarkSource): Promise<Live> {
  const live: Live = { content: new Set(), snapshots: new Set(), ingests: new Set(roots.ingests) };
  const seen = new Set<string>();
  const contentQueue: Array<{ namespace: string; digest: Digest; role: Role }> = [];
  const snapshotQueue: string[] = [];

  const pushContent = (namespace: string, digest: string, role: Role) => {
    if (!isDigest(digest)) return;
    const key = `${namespace}\n${digest}\n${role}`;
    if (seen.has(key)) return;
    seen.add(key);
    contentQueue.push({ namespace, digest, role });
  };
  const pushSnapshot = (key: string) => {
    if (live.snapshots.has(key) || source.snapshot(key) === undefined) return;
    live.snapshots.add(key);
    snapshotQueue.push(key);
  };
  const followLabels = (namespace: string, labels: Record<string, string>) => {
    for (const [k, v] of Object.entries(labels)) {
      if (k === GC_REF_CONTENT || k.startsWith(`${GC_REF_CONTENT}.`)) pushContent(namespace, v, 'other');
      else if (k.startsWith(GC_REF_SNAPSHOT) && snapshotterOf(k) === SNAPSHOTTER) pushSnapshot(`${namespace}/${v}`);
    }
  };

  for (const r of roots.content) pushContent(r.namespace, r.digest, roleOf(r.mediaType));
  for (const k of roots.snapshots) pushSnapshot(k);

  while (contentQueue.length > 0 || snapshotQueue.length > 0) {
    const key = snapshotQueue.pop();
    if (key !== undefined) {
      const info = source.snapshot(key) as SnapshotInfo;
      if (info.parent !== undefined) pushSnapshot(info.parent);
      followLabels(namespaceOfKey(key), info.labels);
      continue;
    }
    const { namespace, digest, role } = contentQueue.pop() as { namespace: string; digest: Digest; role: Role };
    const labels = await source.contentLabels(namespace, digest);
    if (labels === undefined) continue;
    live.content.add(liveContentKey(namespace, digest));
    followLabels(namespace, labels);
    if (role === 'other') continue;
    const data = await source.readSmall(namespace, digest, MAX_JSON_BLOB_BYTES);
    if (data === undefined) continue;
    for (const child of await childrenOf(role, data)) {
      if ('snapshot' in child) pushSnapshot(`${namespace}/${child.snapshot}`);
      else pushContent(namespace, child.digest, child.role);
    }
  }
  return live;
}

/** The key of a namespace's record in `Live.content`. */
export function liveContentKey(namespace: string, digest: string): string {
  return `${namespace}/${digest}`;
}

/** The references inside an index, manifest or config document; none if it does not parse. */
async function childrenOf(role: Role, data: Buffer): Promise<Array<{ digest: string; role: Role } | { snapshot: string }>> {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch {
    return [];
  }
  if (role === 'index' && isIndex(doc)) return doc.manifests.map((m) => ({ digest: m.digest, role: roleOf(m.mediaType) }));
  if (role === 'manifest' && isManifest(doc)) {
    return [{ digest: doc.config.digest, role: 'config' as Role }, ...doc.layers.map((l) => ({ digest: l.digest, role: 'other' as Role }))];
  }
  if (role === 'config' && isImageConfig(doc)) {
    const diffIds = doc.rootfs.diff_ids.filter(isDigest);
    if (diffIds.length === 0 || diffIds.length !== doc.rootfs.diff_ids.length) return [];
    return [{ snapshot: chainId(diffIds) }];
  }
  return [];
}

function roleOf(mediaType: string | undefined): Role {
  if (isIndexMediaType(mediaType)) return 'index';
  if (isManifestMediaType(mediaType)) return 'manifest';
  return 'other';
}

/** `containerd.io/gc.ref.snapshot.overlayfs` and `...overlayfs/<anything>` both name overlayfs. */
function snapshotterOf(label: string): string {
  return label.slice(GC_REF_SNAPSHOT.length).split(/[./]/)[0] ?? '';
}

function namespaceOfKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}
