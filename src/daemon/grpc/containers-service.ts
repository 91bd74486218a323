import type { ContainersHandlers } from '../../proto-types.js';
import { failedPrecondition } from '../../errors.js';
import type { ContainerStore } from '../metadata/containers.js';
import { logPath } from '../tasks/task-host.js';
import type { TaskManager } from '../tasks/task-manager.js';
import { rm } from 'node:fs/promises';
import { rotatedLogs } from '../../shim/rotating-log.js';
import { containerFromProto, containerToProto } from './convert.js';
import { namespaceOf, serverStream, unary } from './handlers.js';
import type { NamespaceStore } from '../metadata/namespaces.js';
import type { EventExchange } from '../events/exchange.js';
import type { GarbageCollector } from '../gc/collector.js';

/** Containers: metadata records; a container with a live task cannot be deleted. */
export function containersService(store: ContainerStore, namespaces: NamespaceStore, tasks: TaskManager, events: EventExchange, logRoot: string, gc?: GarbageCollector): ContainersHandlers {
  return {
    Get: unary((req, call) => ({ container: containerToProto(store.get(namespaceOf(call), req.id)) })),
    List: unary((_req, call) => ({ containers: store.list(namespaceOf(call)).map(containerToProto) })),
    ListStream: serverStream(async (_req, call) => {
      for (const c of store.list(namespaceOf(call))) call.write({ container: containerToProto(c) });
    }),
    Create: unary((req, call) => {
      const ns = namespaceOf(call);
      namespaces.ensure(ns);
      const created = store.create(ns, containerFromProto(req.container));
      events.publish(ns, 'containerCreate', { id: created.id, image: created.image, runtime: { name: created.runtime.name, options: null } });
      return { container: containerToProto(created) };
    }),
    Update: unary((req, call) => {
      const ns = namespaceOf(call);
      const incoming = containerFromProto(req.container);
      const current = store.get(ns, incoming.id);
      const merged = { ...current, ...incoming, createdAt: current.createdAt, updatedAt: current.updatedAt };
      const updated = store.update(ns, merged, req.update_mask?.paths ?? []);
      events.publish(ns, 'containerUpdate', { id: updated.id, image: updated.image, labels: updated.labels, snapshot_key: updated.snapshotKey });
      return { container: containerToProto(updated) };
    }),
    Delete: unary(async (req, call) => {
      const ns = namespaceOf(call);
      if (tasks.has(ns, req.id)) throw failedPrecondition(`container "${req.id}" has a task: delete the task first (ctr-ts tasks rm ${req.id})`);
      store.delete(ns, req.id);
      const log = logPath(logRoot, ns, req.id);
      await rm(log, { force: true });
      for (const rotated of await rotatedLogs(log)) await rm(rotated, { force: true });
      events.publish(ns, 'containerDelete', { id: req.id });
      // Its snapshot (and what only it kept) is collected unless something else refers to it.
      gc?.schedule();
      return {};
    }),
  };
}
