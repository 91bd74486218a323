import type { Info, Mount, Snapshotter, Usage } from '../../snapshot/snapshotter.js';
import type { EventExchange } from './exchange.js';

/**
 * The snapshotter with containerd's snapshot events: /snapshot/prepare,
 * /snapshot/commit and /snapshot/remove after each successful call, as
 * containerd's wrapper around every snapshotter does
 * (services/snapshots/snapshotters.go), so the Snapshots service and
 * in-daemon pulls and imports are all seen. containerd publishes nothing for
 * View, and the garbage collector works on the unwrapped snapshotter, so its
 * removals are silent too, as in containerd. Keys arrive namespaced
 * (`<ns>/<key>`, see snapshots-service.ts); events carry the namespace in
 * their envelope and the bare key.
 */
export class PublishingSnapshotter implements Snapshotter {
  constructor(
    private readonly inner: Snapshotter,
    private readonly events: EventExchange,
  ) {}

  stat(key: string): Promise<Info> {
    return this.inner.stat(key);
  }

  update(key: string, labels: Record<string, string>): Promise<Info> {
    return this.inner.update(key, labels);
  }

  usage(key: string): Promise<Usage> {
    return this.inner.usage(key);
  }

  mounts(key: string): Promise<Mount[]> {
    return this.inner.mounts(key);
  }

  view(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]> {
    return this.inner.view(key, parent, labels);
  }

  walk(fn: (info: Info) => void | Promise<void>): Promise<void> {
    return this.inner.walk(fn);
  }

  async prepare(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]> {
    const mounts = await this.inner.prepare(key, parent, labels);
    const [ns, bare] = split(key);
    if (ns !== undefined) this.events.publish(ns, 'snapshotPrepare', { key: bare, parent: parent === undefined ? '' : split(parent)[1] });
    return mounts;
  }

  async commit(name: string, key: string, labels?: Record<string, string>): Promise<void> {
    await this.inner.commit(name, key, labels);
    const [ns, bare] = split(key);
    if (ns !== undefined) this.events.publish(ns, 'snapshotCommit', { key: bare, name: split(name)[1] });
  }

  async remove(key: string): Promise<void> {
    await this.inner.remove(key);
    const [ns, bare] = split(key);
    if (ns !== undefined) this.events.publish(ns, 'snapshotRemove', { key: bare });
  }
}

/** `<ns>/<key>` as [ns, key]; [undefined, key] for a key without a namespace (nothing to publish to). */
function split(key: string): [string | undefined, string] {
  const slash = key.indexOf('/');
  return slash <= 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
}
