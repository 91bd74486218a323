import { RuntimeError } from '../../src/errors.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import type { ImageRecord } from '../../src/daemon/metadata/db.js';
import type { ContentNamespaces } from '../../src/daemon/metadata/content.js';
import type { ContentStore } from '../../src/snapshot/content.js';
import type { OverlaySnapshotter } from '../../src/snapshot/overlay.js';

/** Registry retries without waiting, for pulls against in-process registries. */
export const FAST_RETRY = { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5, jitter: 0 } };

/**
 * Just what pullImage touches of a Daemon: the real content store (one
 * store every namespace shares, or the namespaced one) and snapshotter, when
 * unpacking, images in a map, and the event topics and warnings it reports,
 * kept for the test to read.
 */
export function fakePullDaemon(store: ContentStore | ContentNamespaces, snapshotter?: OverlaySnapshotter) {
  const content: ContentNamespaces = 'forNamespace' in store ? store : { forNamespace: () => store };
  const images = new Map<string, ImageRecord>();
  const events: string[] = [];
  const warnings: string[] = [];
  const daemon = {
    content,
    snapshotter,
    namespaces: { ensure: () => undefined },
    images: {
      get: (ns: string, name: string) => {
        const r = images.get(`${ns}/${name}`);
        if (!r) throw new RuntimeError('NotFound', 'no');
        return r;
      },
      put: (ns: string, rec: Omit<ImageRecord, 'createdAt' | 'updatedAt'>) => {
        const full = { ...rec, createdAt: '', updatedAt: '' };
        images.set(`${ns}/${rec.name}`, full);
        return full;
      },
    },
    events: { publish: (_ns: string, topic: string) => events.push(topic) },
    log: { info: () => undefined, warn: (message: string, fields: Record<string, unknown>) => warnings.push(`${message} ${JSON.stringify(fields)}`) },
  };
  return { daemon: daemon as unknown as Daemon, images, events, warnings };
}
