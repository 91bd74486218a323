import { randomUUID } from 'node:crypto';
import type { IntrospectionHandlers, NamespacesHandlers, VersionHandlers } from '../../proto-types.js';
import type { NamespaceStore } from '../metadata/namespaces.js';
import type { EventExchange } from '../events/exchange.js';
import { unary } from './handlers.js';
import { VERSION } from '../version.js';

/** Version: what `ctr version` prints for the server. */
export function versionService(): VersionHandlers {
  return { Version: unary(() => ({ version: VERSION.version, revision: VERSION.revision })) };
}

/** Namespaces: containerd's tenancy, backed by the namespace store. */
export function namespacesService(store: NamespaceStore, events: EventExchange): NamespacesHandlers {
  return {
    // containerd answers Get for an unknown namespace with empty labels (ctr relies on it).
    Get: unary((req) => ({ namespace: store.find(req.name) ?? { name: req.name, labels: {} } })),
    List: unary(() => ({ namespaces: store.list() })),
    Create: unary((req) => {
      const created = store.create(req.namespace?.name ?? '', req.namespace?.labels ?? {});
      events.publish(created.name, 'namespaceCreate', { name: created.name, labels: created.labels });
      return { namespace: created };
    }),
    Update: unary((req) => {
      const paths = req.update_mask?.paths ?? [];
      const labels = req.namespace?.labels ?? {};
      if (paths.length === 0 || paths.includes('labels')) return { namespace: store.update(req.namespace?.name ?? '', labels, true) };
      const picked = Object.fromEntries(paths.filter((p) => p.startsWith('labels.')).map((p) => [p.slice(7), labels[p.slice(7)] ?? '']));
      return { namespace: store.update(req.namespace?.name ?? '', picked, false) };
    }),
    Delete: unary((req) => {
      store.delete(req.name);
      events.publish(req.name, 'namespaceDelete', { name: req.name });
      return {};
    }),
  };
}

/** The plugins this daemon provides, as containerd names them, so clients can introspect. */
const PLUGINS: Array<{ type: string; id: string; requires?: string[] }> = [
  { type: 'io.containerd.content.v1', id: 'content' },
  { type: 'io.containerd.snapshotter.v1', id: 'overlayfs' },
  { type: 'io.containerd.metadata.v1', id: 'lmdb', requires: ['io.containerd.content.v1', 'io.containerd.snapshotter.v1'] },
  { type: 'io.containerd.runtime.v2', id: 'task' },
  { type: 'io.containerd.grpc.v1', id: 'containers' },
  { type: 'io.containerd.grpc.v1', id: 'content' },
  { type: 'io.containerd.grpc.v1', id: 'images' },
  { type: 'io.containerd.grpc.v1', id: 'introspection' },
  { type: 'io.containerd.grpc.v1', id: 'namespaces' },
  { type: 'io.containerd.grpc.v1', id: 'snapshots' },
  { type: 'io.containerd.grpc.v1', id: 'tasks' },
  { type: 'io.containerd.grpc.v1', id: 'version' },
];

/** Introspection: plugin list and server UUID (stable per root dir). */
export function introspectionService(uuid: string = randomUUID()): IntrospectionHandlers {
  const platforms = [{ os: 'linux', architecture: 'amd64', variant: '' }];
  return {
    Plugins: unary((req) => ({
      plugins: PLUGINS.filter((p) => matchesFilters(p, req.filters)).map((p) => ({
        type: p.type, id: p.id, requires: p.requires ?? [], platforms: p.type.includes('runtime') || p.id === 'overlayfs' ? platforms : [],
        exports: p.id === 'overlayfs' ? { root: '' } : {}, capabilities: [], init_err: null,
      })),
    })),
    Server: unary(() => ({ uuid })),
  };
}

/** Supports containerd's simple filters on plugins: `type==X`, `id==Y`, comma = and. */
function matchesFilters(p: { type: string; id: string }, filters: string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) =>
    f.split(',').every((clause) => {
      const m = /^\s*(type|id)\s*==\s*"?([^"]*)"?\s*$/.exec(clause);
      return !m || (m[1] === 'type' ? p.type === m[2] : p.id === m[2]);
    }),
  );
}
